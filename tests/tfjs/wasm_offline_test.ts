import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const probe = fileURLToPath(new URL("./_wasm_offline_probe.ts", import.meta.url));
const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";

describe("the wasm backend", () => {
  test("loads its .wasm file from node_modules, with no network call", { timeout: 60_000 }, () => {
    // Deno also runs the probe without network permission, so a download could not succeed.
    const args = isDeno ? ["run", "--allow-read", "--allow-env", "--allow-sys", probe] : [probe];
    const run = spawnSync(process.execPath, args, { encoding: "utf8", timeout: 50_000 });
    assert.equal(run.status, 0, run.stderr);
    const line = run.stdout.trim().split("\n").find((l) => l.startsWith("{"));
    assert.ok(line, run.stdout);
    const report = JSON.parse(line) as {
      ok: boolean;
      backend: string;
      squares: number[];
      fetches: string[];
    };
    assert.deepEqual(report, { ok: true, backend: "wasm", squares: [1, 4, 9], fetches: [] });
  });
});
