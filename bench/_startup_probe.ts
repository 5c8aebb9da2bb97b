/**
 * A process that `bench/limits.ts` starts to time the runtime's start-up:
 * `empty` imports nothing, `t-quantile` imports the t quantile that
 * `autoTol` (the CLI's default `--tol auto`) loads with the core.
 *
 * @module
 */

import process from "node:process";

if (process.argv.includes("t-quantile")) {
  const quantile = (await import("@stdlib/stats-base-dists-t-quantile")).default;
  if (!(quantile(0.975, 10) > 2)) throw new Error("the t quantile did not load");
}
