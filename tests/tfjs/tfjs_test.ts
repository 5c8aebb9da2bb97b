import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { BatchCorrError } from "../../mod.ts";
import { loadTfjs, TFJS_PACKAGE } from "../../src/tfjs/_tfjs.ts";

/** deno.json's import map, which `--import-map` replaces. */
function projectImports(): Record<string, string> {
  const config = JSON.parse(readFileSync(new URL("../../deno.json", import.meta.url), "utf8"));
  return config.imports as Record<string, string>;
}

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

function assertInstallError(error: unknown): true {
  assert.ok(error instanceof BatchCorrError, String(error));
  assert.equal(error.code, "peer_missing");
  assert.equal(error.details["package"], "@tensorflow/tfjs");
  assert.match(
    error.message,
    /^Cannot use @streamcorr\/batch-corr\/tfjs as the optional package @tensorflow\/tfjs \(\^4\.22\.0\) must be installed/,
  );
  assert.match(error.message, /"deno add npm:@tensorflow\/tfjs@\^4\.22\.0" \(Deno\)/);
  assert.match(error.message, /"bun add @tensorflow\/tfjs@\^4\.22\.0" \(Bun\)/);
  return true;
}

describe("loading @tensorflow/tfjs", () => {
  test("a failed import names the package and the install commands", async () => {
    const missing = Object.assign(new Error("Cannot find module '@tensorflow/tfjs'"), {
      code: "ERR_MODULE_NOT_FOUND",
    });
    await assert.rejects(loadTfjs(() => Promise.reject(missing)), (error: unknown) => {
      assertInstallError(error);
      assert.equal((error as BatchCorrError).cause, missing);
      assert.match(
        (error as Error).message,
        /current value is not installed \(Cannot find module '@tensorflow\/tfjs'\)/,
      );
      return true;
    });
  });

  test("a module that is not TensorFlow.js is refused", async () => {
    await assert.rejects(loadTfjs(() => Promise.resolve({ version: "0" })), (error: unknown) => {
      assert.ok(error instanceof BatchCorrError);
      assert.equal(error.code, "peer_missing");
      assert.match(
        error.message,
        /installed but could not be loaded \(the module @tensorflow\/tfjs must export TensorFlow.js \(customGrad, Tensor\)/,
      );
      return true;
    });
  });

  test("the real package loads", async () => {
    const tf = await loadTfjs();
    assert.equal(typeof tf.customGrad, "function");
    assert.equal(TFJS_PACKAGE, "@tensorflow/tfjs");
  });

  test(
    "importing the tfjs entry point where the package cannot be resolved throws the install error",
    {
      skip: isDeno ? false : "needs Deno's --import-map to hide the installed package",
      timeout: 60_000,
    },
    () => {
      const dir = mkdtempSync(join(tmpdir(), "batch-corr-no-tfjs-"));
      try {
        const entry = new URL("../../src/tfjs/mod.ts", import.meta.url).href;
        const importMap = join(dir, "import_map.json");
        writeFileSync(
          importMap,
          JSON.stringify({
            imports: { ...projectImports(), "@tensorflow/tfjs": "./missing/tfjs.js" },
          }),
        );
        const script = join(dir, "main.ts");
        writeFileSync(
          script,
          `try { await import(${
            JSON.stringify(entry)
          }); console.log("loaded"); } catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }\n`,
        );
        const cwd = fileURLToPath(new URL("../../", import.meta.url));
        const run = spawnSync(
          process.execPath,
          ["run", "-A", "--no-check", "--no-lock", `--import-map=${importMap}`, script],
          { cwd, encoding: "utf8", timeout: 50_000 },
        );
        assert.equal(run.status, 0, run.stderr);
        const line = run.stdout.trim().split("\n").at(-1)!;
        const error = JSON.parse(line) as { name: string; code: string; message: string };
        assert.equal(error.name, "BatchCorrError");
        assert.equal(error.code, "peer_missing");
        assert.match(
          error.message,
          /optional package @tensorflow\/tfjs \(\^4\.22\.0\) must be installed: current value is not installed/,
        );
        assert.match(error.message, /deno add npm:@tensorflow\/tfjs@\^4\.22\.0/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
