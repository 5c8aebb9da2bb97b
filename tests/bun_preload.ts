/**
 * Loaded before the suite by `bun test` through bunfig.toml's [test].preload:
 * leaves a marker that tests/bunfig_test.ts checks, proving the file was read.
 */

(globalThis as Record<symbol, unknown>)[Symbol.for("batch-corr.bunfig")] = Object.freeze({
  preload: "tests/bun_preload.ts",
});
