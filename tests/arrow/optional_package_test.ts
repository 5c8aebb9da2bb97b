import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { BatchCorrError } from "../../mod.ts";
import { APACHE_ARROW } from "../../src/arrow/_load_arrow.ts";
import {
  installCommands,
  missingPackageError,
  optionalPackageLoader,
} from "../../src/arrow/optional_package.ts";
import { HYPARQUET } from "../../src/parquet/_load_hyparquet.ts";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

// What each runtime throws for a package that is not there.
const NOT_FOUND = {
  bun: "Cannot find package 'apache-arrow' from '/app/src/arrow/_load_arrow.ts'",
  deno:
    "Could not find a matching package for 'npm:apache-arrow@^21.0.0' in the node_modules directory.",
  node: Object.assign(new Error("Cannot find package 'apache-arrow' imported from /app/x.js"), {
    code: "ERR_MODULE_NOT_FOUND",
  }),
};

describe("optional packages", () => {
  for (const [runtime, failure] of Object.entries(NOT_FOUND)) {
    test(`a failed import (as ${runtime} reports it) names the package and the install commands`, async () => {
      const load = optionalPackageLoader(
        APACHE_ARROW,
        () => Promise.reject(typeof failure === "string" ? new TypeError(failure) : failure),
      );
      const error = await rejection(load());
      assert.ok(error instanceof BatchCorrError);
      assert.equal(error.code, "provider_unavailable");
      assert.match(
        error.message,
        /^Cannot use Arrow IPC as the optional package apache-arrow \(\^21\.0\.0\) must be installed: current value is not installed/,
      );
      assert.match(
        error.message,
        /add it with "deno add npm:apache-arrow@\^21\.0\.0" \(Deno\), "bun add apache-arrow@\^21\.0\.0" \(Bun\) or "npm install apache-arrow@\^21\.0\.0" \(Node\.js\)$/,
      );
      assert.deepEqual(error.details.install, {
        deno: "deno add npm:apache-arrow@^21.0.0",
        bun: "bun add apache-arrow@^21.0.0",
        npm: "npm install apache-arrow@^21.0.0",
      });
      assert.equal(error.details.package, "apache-arrow");
      assert.ok(error.cause !== undefined);
    });
  }

  test("a package that is there but fails to load says so, still with the commands", async () => {
    const load = optionalPackageLoader(
      HYPARQUET,
      () => Promise.reject(new SyntaxError("Unexpected token 'export'")),
    );
    const error = await rejection(load());
    assert.ok(error instanceof BatchCorrError);
    assert.match(
      error.message,
      /^Cannot read Parquet as the optional package hyparquet \(\^1\.31\.0\) must be installed: current value is installed but could not be loaded \(Unexpected token 'export'\)/,
    );
    assert.match(error.message, /bun add hyparquet@\^1\.31\.0/);
  });

  test("a failure is not remembered: once the package is there, the next call loads it, and only once", async () => {
    let calls = 0;
    let installed = false;
    const load = optionalPackageLoader(HYPARQUET, () => {
      calls++;
      return installed
        ? Promise.resolve({ ok: true })
        : Promise.reject(new Error("Cannot find package 'hyparquet'"));
    });
    await rejection(load());
    installed = true;
    assert.deepEqual(await load(), { ok: true });
    assert.deepEqual(await load(), { ok: true });
    assert.equal(calls, 2);
  });

  test("missingPackageError() keeps the caller's details beside the package's", () => {
    const pkg = {
      name: "onnxruntime-node",
      range: "^1.30.0",
      feature: 'use the ONNX Runtime provider "cpu"',
    };
    const error = missingPackageError(pkg, new Error("Cannot find package 'onnxruntime-node'"), {
      provider: "cpu",
    });
    assert.equal(error.details.provider, "cpu");
    assert.equal(error.details.reason, "onnxruntime-node is not installed");
    assert.match(
      error.message,
      /^Cannot use the ONNX Runtime provider "cpu" as the optional package onnxruntime-node \(\^1\.30\.0\) must be installed/,
    );
  });

  test("installCommands() gives each runtime's command", () => {
    assert.deepEqual(installCommands({ name: "x", range: "^1.0.0", feature: "do x" }), {
      deno: "deno add npm:x@^1.0.0",
      bun: "bun add x@^1.0.0",
      npm: "npm install x@^1.0.0",
    });
  });

  test(
    "fromArrow() without apache-arrow (a Deno subprocess whose import map points it nowhere) fails with that error",
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
        const reported = JSON.parse(run.stdout.trim()) as {
          name: string;
          code: string;
          message: string;
        };
        assert.equal(reported.name, "BatchCorrError");
        assert.equal(reported.code, "provider_unavailable");
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
