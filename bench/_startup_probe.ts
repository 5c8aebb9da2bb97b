/**
 * A process that `bench/limits.ts` starts to time the runtime's start-up:
 * `empty` imports nothing, `t-quantile` imports only `autoTol` (the t
 * quantile behind the CLI's default `--tol auto`) and calls it once.
 *
 * @module
 */

import process from "node:process";

if (process.argv.includes("t-quantile")) {
  const { autoTol } = await import("../src/core/auto_tol.ts");
  if (!(Math.abs(autoTol(20) - 0.3783408610435194) < 1e-12)) {
    throw new Error("autoTol did not load");
  }
}
