import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseMonitorArgs } from "../../../src/cli/commands/monitor_args.ts";
import { UsageError } from "../../../src/cli/errors.ts";

function usageError(args: string[], message: string): void {
  assert.throws(
    () => parseMonitorArgs(args),
    (error: unknown) => error instanceof UsageError && error.message === message,
  );
}

describe("parseMonitorArgs()", () => {
  test("applies the documented defaults", () => {
    const args = parseMonitorArgs(["data.csv", "-c", "age"]);
    assert.deepEqual(
      [
        args.batchSize,
        args.tol,
        args.tolSig,
        args.abs,
        args.nu,
        args.scalarisation,
        args.format,
        args.top,
        args.onBadRow,
      ],
      [100, "auto", 0.1, true, 1, "mean", "table", 5, "error"],
    );
    assert.deepEqual([args.progress, args.printEvery, args.failOnAlert, args.alertOn], [
      "auto",
      1,
      true,
      "running",
    ]);
    assert.deepEqual([args.maxColumns, args.maxLineBytes, args.maxElements], [
      100_000,
      16 * 1024 * 1024,
      2 ** 27,
    ]);
    assert.deepEqual([args.window, args.decay, args.alert, args.features, args.provider], [
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test("--demo fills the bundled data set's settings, each overridable, and its window only without --decay", () => {
    const demo = parseMonitorArgs(["--demo"]);
    assert.deepEqual(
      [
        demo.input,
        demo.dateColumn,
        demo.confounds,
        demo.features,
        demo.batchSize,
        demo.window,
        demo.alert,
        demo.alertOn,
      ],
      [
        undefined,
        "date",
        ["date.cos"],
        ["temp_max", "temp_min", "precipitation", "wind"],
        30,
        3,
        0.3,
        "window",
      ],
    );
    const overridden = parseMonitorArgs(["--demo", "-b", "10", "-c", "date.sin", "--alert", "1"]);
    assert.deepEqual([overridden.batchSize, overridden.confounds, overridden.alert], [10, [
      "date.sin",
    ], 1]);
    const decayed = parseMonitorArgs(["--demo", "--decay", "0.5"]);
    assert.deepEqual([decayed.window, decayed.decay, decayed.alertOn], [undefined, 0.5, "window"]);
  });

  test("alerts on the window view when a window or decay is given, else on the running view", () => {
    assert.equal(parseMonitorArgs(["x", "-c", "a", "-w", "2"]).alertOn, "window");
    assert.equal(parseMonitorArgs(["x", "-c", "a", "--decay", "0.9"]).alertOn, "window");
    assert.equal(parseMonitorArgs(["x", "-c", "a"]).alertOn, "running");
    assert.equal(
      parseMonitorArgs(["x", "-c", "a", "-w", "2", "--alert", "1", "--alert-on", "any"]).alertOn,
      "any",
    );
  });

  test("refuses a missing input, two inputs, an input with --demo, no confounds, and a window with a decay", () => {
    usageError(
      ["-c", "a"],
      "Cannot run monitor as an input must be given (a file path, or - for standard input, or --demo): current value is none",
    );
    usageError(
      ["a.csv", "b.csv", "-c", "a"],
      'Cannot run monitor as the input must be one file path or - for standard input: current value is "a.csv b.csv"',
    );
    usageError(
      ["--demo", "a.csv"],
      'Cannot run monitor as the input with --demo must be omitted (the demo reads the bundled data set): current value is "a.csv"',
    );
    usageError(
      ["a.csv"],
      "Cannot run monitor as --confounds must name the confound columns (comma-separated): current value is none",
    );
    usageError(
      ["a.csv", "-c", "a", "-w", "2", "--decay", "0.5"],
      "Cannot run monitor as --window and --decay must not both be given: current values are 2 and 0.5",
    );
  });

  test("refuses a flag that the others leave without effect, naming what it needs", () => {
    const cases: [string[], string][] = [
      [
        ["--alert", "0.2", "--alert-on", "window"],
        'Cannot run monitor as --alert-on "window" must come with --window or --decay (the view whose loss it compares): current value has neither --window nor --decay',
      ],
      [
        ["--alert", "0.2", "--alert-on", "any"],
        'Cannot run monitor as --alert-on "any" must come with --window or --decay (the view whose loss it compares): current value has neither --window nor --decay',
      ],
      [
        ["-w", "2", "--alert-on", "running"],
        'Cannot run monitor as --alert-on "running" must come with --alert (the level it compares the loss with): current value has no --alert',
      ],
      [
        ["--no-fail-on-alert"],
        "Cannot run monitor as --no-fail-on-alert must come with --alert (without a level no alert can fire): current value has no --alert",
      ],
      [
        ["--fail-on-alert"],
        "Cannot run monitor as --fail-on-alert must come with --alert (without a level no alert can fire): current value has no --alert",
      ],
      [
        ["--correlations"],
        'Cannot run monitor as --correlations must come with --format ndjson (the table shows losses only): current value has --format "table"',
      ],
      [
        ["--format", "ndjson", "--print-every", "5"],
        'Cannot run monitor as --print-every 5 must come with --format table (NDJSON has a record for every batch): current value has --format "ndjson"',
      ],
      [
        ["--top", "3"],
        "Cannot run monitor as --top 3 must come with --report or --metrics (it sizes the report's table and the top-k series): current value has no --report or --metrics",
      ],
      [
        ["--tol", "0.1", "--tol-sig", "0.05"],
        "Cannot run monitor as --tol-sig 0.05 must come with --tol auto (a fixed tol uses no significance): current value has a fixed --tol",
      ],
    ];
    for (const [flags, message] of cases) usageError(["a.csv", "-c", "a", ...flags], message);
    usageError(
      ["--demo", "--input-format", "ndjson"],
      'Cannot run monitor as --input-format "ndjson" must be left out with --demo (the bundled data set is CSV): current value has --demo',
    );
  });

  test("accepts each dependent flag with what it needs, --demo's alert level included", () => {
    const accepted = [
      ["-w", "2", "--alert", "0.2", "--alert-on", "window"],
      ["--decay", "0.9", "--alert", "0.2", "--alert-on", "any"],
      ["--alert", "0.2", "--alert-on", "running", "--no-fail-on-alert"],
      ["--format", "ndjson", "--correlations"],
      ["--print-every", "5"],
      ["--report", "r.html", "--top", "3"],
      ["--tol", "auto", "--tol-sig", "0.05"],
      ["--input-format", "ndjson"],
    ];
    for (const flags of accepted) parseMonitorArgs(["a.csv", "-c", "a", ...flags]);
    const demo = parseMonitorArgs(["--demo", "--no-fail-on-alert", "--alert-on", "window"]);
    assert.deepEqual([demo.failOnAlert, demo.alertOn], [false, "window"]);
  });

  test("accepts --help without an input or confounds", () => {
    const args = parseMonitorArgs(["--help"]);
    assert.deepEqual([args.help, args.input, args.confounds], [true, undefined, []]);
  });
});
