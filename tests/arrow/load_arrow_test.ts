import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

describe("loading apache-arrow", () => {
  test(
    "fromArrow() without apache-arrow (a Deno subprocess whose import map points it nowhere) reads flat float columns and fails with that error on the rest",
    {
      skip: typeof (globalThis as { Deno?: unknown }).Deno === "undefined"
        ? "needs Deno's --import-map"
        : false,
    },
    () => {
      const root = new URL("../../", import.meta.url);
      const config = JSON.parse(readFileSync(new URL("deno.json", root), "utf8")) as {
        imports: Record<string, string>;
      };
      const dir = mkdtempSync(join(tmpdir(), "batch-corr-missing-"));
      try {
        const map = join(dir, "import_map.json");
        writeFileSync(
          map,
          JSON.stringify({
            imports: {
              ...config.imports,
              "apache-arrow": new URL("missing/apache-arrow.js", `file://${dir}/`).href,
            },
          }),
        );
        const script = join(dir, "probe.ts");
        writeFileSync(
          script,
          `import { fromArrow } from ${JSON.stringify(new URL("src/arrow/mod.ts", root).href)};\n` +
            `let rows = 0;\n` +
            `for await (const b of fromArrow(${
              JSON.stringify(fileURLToPath(new URL("tests/fixtures/columnar/flat.arrows", root)))
            }, { features: ["a", "b"], confounds: ["motion"] })) rows += b.x.shape[0];\n` +
            `console.log(JSON.stringify({ rows }));\n` +
            `try { for await (const _ of fromArrow(new Uint8Array(8), { confounds: ["m"] })); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }\n`,
        );
        const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
        const run = spawnSync(deno, [
          "run",
          "-A",
          "--no-lock",
          `--config=${fileURLToPath(new URL("deno.json", root))}`,
          `--import-map=${map}`,
          script,
        ], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
        assert.equal(run.status, 0, run.stderr);
        const [flat, missing] = run.stdout.trim().split("\n");
        assert.deepEqual(JSON.parse(flat!), { rows: 150 });
        const reported = JSON.parse(missing!) as {
          name: string;
          code: string;
          message: string;
        };
        assert.equal(reported.name, "BatchCorrError");
        assert.equal(reported.code, "peer_missing");
        assert.match(
          reported.message,
          /optional package apache-arrow \(\^21\.0\.0\) must be installed: current value is not installed/,
        );
        assert.match(reported.message, /"bun add apache-arrow@\^21\.0\.0" \(Bun\)/);
        assert.match(reported.message, /Module not found/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
