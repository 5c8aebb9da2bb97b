/**
 * The seeded random numbers the tests share, so that a failure reproduces:
 * the same mulberry32 generator the synthetic drift data uses.
 *
 * @module
 */

export { mulberry32 } from "../src/cli/input/mulberry32.ts";
