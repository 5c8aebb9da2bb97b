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
    assert.equal(parseMonitorArgs(["x", "-c", "a", "-w", "2", "--alert-on", "any"]).alertOn, "any");
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

  test("accepts --help without an input or confounds", () => {
    const args = parseMonitorArgs(["--help"]);
    assert.deepEqual([args.help, args.input, args.confounds], [true, undefined, []]);
  });
});
