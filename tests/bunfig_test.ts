import { describe, test } from "node:test";
import assert from "node:assert/strict";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

describe("bunfig.toml", () => {
  test("bun test reads it: its [test].preload ran before this file", {
    skip: isBun ? false : "Deno does not read bunfig.toml",
  }, () => {
    const marker = (globalThis as Record<symbol, unknown>)[Symbol.for("batch-corr.bunfig")];
    assert.deepEqual(
      marker,
      { preload: "tests/bun_preload.ts" },
      "bunfig.toml was not read: run bun test from the repository root",
    );
  });
});
