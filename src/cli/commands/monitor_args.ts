/**
 * The options of `monitor`: its flags checked, `--demo`'s settings and the
 * defaults applied, and the rules that tie flags together.
 *
 * @module
 */

import { ruleMessage } from "../../core/errors.ts";
import type { FlagValues, GivenFlags } from "../args/flag.ts";
import { checkFlags, type RawFlags, readFlags, withDefaults } from "../args/parse_flags.ts";
import { UsageError } from "../errors.ts";
import type { ListenAddress } from "../service/listen_address.ts";
import { checkFlagDependencies } from "./_monitor_flag_rules.ts";
import { checkColumnarInput } from "./_monitor_input_format.ts";
import { checkServiceFlags, metricsAddress } from "./_monitor_service.ts";
import { DEMO_SETTINGS, MONITOR_FLAGS } from "./monitor_flags.ts";
import { checkMonitorScaleOut } from "./_scaleout_flags.ts";

/** The values of `monitor`'s flags with the table's defaults applied. */
export type MonitorFlagValues = FlagValues<typeof MONITOR_FLAGS>;

/** Which view's loss is compared with the alert level. */
export type AlertOn = NonNullable<MonitorFlagValues["alertOn"]>;

/** Options of `monitor`, checked, with `--demo`'s settings and the defaults applied. */
export type MonitorArgs = Omit<MonitorFlagValues, "confounds" | "alertOn" | "metrics"> & {
  /** A path, or "-" for standard input; undefined with --demo. */
  input: string | undefined;
  /** The confound columns (empty with --help alone). */
  confounds: string[];
  /** Which view's loss is compared with the alert level. */
  alertOn: AlertOn;
  /** `--metrics HOST:PORT`, parsed; undefined: no service. */
  metrics: ListenAddress | undefined;
};

type GivenMonitorFlags = GivenFlags<typeof MONITOR_FLAGS>;

/** The one input: a path or "-", or none with --demo (or --help). */
function inputOf(positionals: readonly string[], given: RawFlags["values"]): string | undefined {
  if (positionals.length > 1) {
    throw new UsageError(
      ruleMessage(
        "run monitor",
        "the input",
        "one file path or - for standard input",
        positionals.join(" "),
      ),
    );
  }
  const input = positionals[0];
  const aggregating = given.redis !== undefined || given.nats !== undefined;
  if (given.help !== true && given.demo !== true && !aggregating && input === undefined) {
    throw new UsageError(
      "Cannot run monitor as an input must be given (a file path, or - for standard input, or --demo): current value is none",
    );
  }
  if (given.demo === true && input !== undefined) {
    throw new UsageError(
      ruleMessage(
        "run monitor",
        "the input with --demo",
        "omitted (the demo reads the bundled data set)",
        input,
      ),
    );
  }
  return input;
}

/** `--demo`'s settings, as defaults under the flags given; its window only without --decay. */
function demoDefaults(given: GivenMonitorFlags): Partial<MonitorFlagValues> {
  if (!given.demo) return {};
  return {
    dateColumn: DEMO_SETTINGS.dateColumn,
    confounds: [...DEMO_SETTINGS.confounds],
    features: [...DEMO_SETTINGS.features],
    batchSize: DEMO_SETTINGS.batchSize,
    tol: DEMO_SETTINGS.tol,
    alert: DEMO_SETTINGS.alert,
    ...(given.decay === undefined ? { window: DEMO_SETTINGS.window } : {}),
  };
}

/** The rules between flags: confounds are required, and a window excludes a decay. */
function checkCombination(
  given: GivenMonitorFlags,
  values: MonitorFlagValues,
  aggregating: boolean,
): void {
  if (!values.help && !aggregating && values.confounds === undefined) {
    throw new UsageError(
      "Cannot run monitor as --confounds must name the confound columns (comma-separated): current value is none",
    );
  }
  if (given.window !== undefined && given.decay !== undefined) {
    throw new UsageError(
      `Cannot run monitor as --window and --decay must not both be given: current values are ${given.window} and ${given.decay}`,
    );
  }
  checkServiceFlags(given.metrics, given.serveAfter);
}

/**
 * Checks the arguments of `monitor` and applies `--demo`'s settings and the
 * defaults.
 *
 * @param args The arguments after `monitor`.
 * @returns The options.
 * @throws {UsageError} For an unknown option, a bad value, no input (or one with --demo), two
 *   inputs, no --confounds, both --window and --decay, a --metrics that is not HOST:PORT,
 *   --serve-after without --metrics, a flag the others leave without effect (such as
 *   --alert-on window without --window or --decay), or a text-only flag (--date-column,
 *   --max-columns, --max-line-bytes) or standard input with a Parquet input.
 *
 * @example A window makes it the alerted view
 * ```ts
 * import { parseMonitorArgs } from "./monitor_args.ts";
 * import assert from "node:assert/strict";
 *
 * const args = parseMonitorArgs(["data.csv", "--confounds", "age", "--window", "5"]);
 * assert.deepEqual([args.input, args.confounds, args.window, args.alertOn], ["data.csv", ["age"], 5, "window"]);
 * assert.equal(args.batchSize, 100);
 * ```
 */
export function parseMonitorArgs(args: readonly string[]): MonitorArgs {
  const raw = readFlags("monitor", MONITOR_FLAGS, args);
  // Checked before the values: a missing or misplaced input is the likelier mistake.
  const input = inputOf(raw.positionals, raw.values);
  const given = checkFlags("monitor", MONITOR_FLAGS, raw);
  const aggregating = !given.help && checkMonitorScaleOut(given, input);
  const values = withDefaults(MONITOR_FLAGS, given, demoDefaults(given));
  checkCombination(given, values, aggregating);
  checkFlagDependencies(given, values);
  if (!values.help) checkColumnarInput(given, input);
  const windowed = values.window !== undefined || values.decay !== undefined;
  return {
    ...values,
    input,
    confounds: values.confounds ?? [],
    alertOn: values.alertOn ?? (windowed ? "window" : "running"),
    metrics: metricsAddress(values.metrics),
  };
}
