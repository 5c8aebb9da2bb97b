/**
 * The rules that make a `monitor` flag depend on another: a flag that would
 * silently do nothing in the combination given is a usage error, not a no-op.
 *
 * @module
 */

import type { FlagValues } from "../args/flag.ts";
import { UsageError } from "../errors.ts";
import type { MONITOR_FLAGS } from "./monitor_flags.ts";

type MonitorFlagValues = FlagValues<typeof MONITOR_FLAGS>;

/** The flags given on the command line (undefined where absent), keyed as the values are. */
type Given = { [K in keyof MonitorFlagValues]?: MonitorFlagValues[K] | undefined };

/** One dependent flag: when it applies, the flag that needs another, and why. */
interface FlagRule {
  /** Whether the combination leaves the flag without effect. */
  idle(given: Given, values: MonitorFlagValues): boolean;
  /** The flag as given, e.g. `--alert-on "window"`. */
  flag(given: Given): string;
  /** What it must come with, and why. */
  needs: string;
  /** What is missing, for the current value. */
  missing: string;
}

const windowed = (values: MonitorFlagValues) =>
  values.window !== undefined || values.decay !== undefined;

const RULES: readonly FlagRule[] = [
  {
    idle: (given, values) => given.alertOn !== undefined && values.alert === undefined,
    flag: (given) => `--alert-on "${given.alertOn}"`,
    needs: "come with --alert (the level it compares the loss with)",
    missing: "no --alert",
  },
  {
    idle: (given, values) =>
      (given.alertOn === "window" || given.alertOn === "any") && !windowed(values),
    flag: (given) => `--alert-on "${given.alertOn}"`,
    needs: "come with --window or --decay (the view whose loss it compares)",
    missing: "neither --window nor --decay",
  },
  {
    idle: (given, values) => given.failOnAlert !== undefined && values.alert === undefined,
    flag: (given) => (given.failOnAlert ? "--fail-on-alert" : "--no-fail-on-alert"),
    needs: "come with --alert (without a level no alert can fire)",
    missing: "no --alert",
  },
  {
    idle: (given, values) => given.correlations === true && values.format === "table",
    flag: () => "--correlations",
    needs: "come with --format ndjson (the table shows losses only)",
    missing: `--format "table"`,
  },
  {
    idle: (given, values) => given.output !== undefined && values.format !== "arrow",
    flag: (given) => `--output ${JSON.stringify(given.output)}`,
    needs:
      "come with --format arrow (the table and NDJSON go to standard output; redirect it instead)",
    missing: "another --format",
  },
  {
    idle: (given, values) => given.printEvery !== undefined && values.format !== "table",
    flag: (given) => `--print-every ${given.printEvery}`,
    needs: "come with --format table (NDJSON has a record for every batch)",
    missing: `--format "ndjson"`,
  },
  {
    idle: (given, values) =>
      given.top !== undefined && values.report === undefined && values.metrics === undefined,
    flag: (given) => `--top ${given.top}`,
    needs: "come with --report or --metrics (it sizes the report's table and the top-k series)",
    missing: "no --report or --metrics",
  },
  {
    idle: (given, values) => given.tolSig !== undefined && values.tol !== "auto",
    flag: (given) => `--tol-sig ${given.tolSig}`,
    needs: "come with --tol auto (a fixed tol uses no significance)",
    missing: "a fixed --tol",
  },
  {
    idle: (given, values) => given.inputFormat !== undefined && values.demo,
    flag: (given) => `--input-format "${given.inputFormat}"`,
    needs: "be left out with --demo (the bundled data set is CSV)",
    missing: "--demo",
  },
];

/**
 * Refuses a flag that the other flags leave without effect, such as
 * `--alert-on window` without `--window` or `--decay`, which would never alert.
 *
 * @param given The flags given on the command line.
 * @param values Every flag's value, with `--demo`'s settings and the defaults applied.
 * @throws {UsageError} Naming the flag, what it must come with, and what was given instead.
 */
export function checkFlagDependencies(given: Given, values: MonitorFlagValues): void {
  for (const rule of RULES) {
    if (!rule.idle(given, values)) continue;
    throw new UsageError(
      `Cannot run monitor as ${
        rule.flag(given)
      } must ${rule.needs}: current value has ${rule.missing}`,
    );
  }
}
