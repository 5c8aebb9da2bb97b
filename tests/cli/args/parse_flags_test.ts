import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { camelCase, type FlagTable } from "../../../src/cli/args/flag.ts";
import { parseArgsOptions, parseFlags, withDefaults } from "../../../src/cli/args/parse_flags.ts";
import { COMMANDS } from "../../../src/cli/command_line.ts";
import { UsageError } from "../../../src/cli/errors.ts";

const TABLES: [string, FlagTable][] = Object.entries(COMMANDS).map((
  [name, command],
) => [name, command.flags]);

describe("the parseArgs spec derived from a flag table", () => {
  for (const [name, table] of TABLES) {
    test(`holds every flag of ${name}, with its alias, and --no- forms only where negatable`, () => {
      const spec = parseArgsOptions(table);
      const expected = Object.entries(table).flatMap(([flag, declared]) => {
        const own: [string, unknown] = [flag, {
          type: declared.kind === "value" ? "string" : "boolean",
          ...(declared.short !== undefined ? { short: declared.short } : {}),
        }];
        const negated = declared.kind === "value"
          ? declared.negation !== undefined
          : declared.negatable;
        return negated ? [own, [`no-${flag}`, { type: "boolean" }] as [string, unknown]] : [own];
      });
      assert.deepEqual(Object.entries(spec), expected);
    });
  }

  test("gives no two flags of a command the same alias", () => {
    for (const [name, table] of TABLES) {
      const shorts = Object.values(table).flatMap((
        flag,
      ) => (flag.short === undefined ? [] : [flag.short]));
      assert.equal(new Set(shorts).size, shorts.length, name);
    }
  });
});

describe("parseFlags()", () => {
  test("names the first bad flag in table order, whatever the order on the command line", () => {
    const { flags } = COMMANDS.monitor;
    for (const args of [["--top", "0", "-b", "x"], ["-b", "x", "--top", "0"]]) {
      assert.throws(
        () => parseFlags("monitor", flags, args),
        (error: unknown) =>
          error instanceof UsageError &&
          error.message ===
            'Cannot run monitor as --batch-size must be a positive integer: current value is "x"',
      );
    }
  });

  test("leaves absent flags undefined and keys every flag in camel case", () => {
    const { given } = parseFlags("monitor", COMMANDS.monitor.flags, ["-c", "a, b"]);
    assert.deepEqual(Object.keys(given), Object.keys(COMMANDS.monitor.flags).map(camelCase));
    assert.deepEqual(given.confounds, ["a", "b"]);
    assert.equal(given.batchSize, undefined);
    assert.equal(given.abs, undefined);
  });

  test("lets the last of --abs and --no-abs win, and --no-progress win over any --progress", () => {
    const table = COMMANDS.monitor.flags;
    assert.equal(parseFlags("monitor", table, ["--no-abs", "--abs"]).given.abs, true);
    assert.equal(parseFlags("monitor", table, ["--abs", "--no-abs"]).given.abs, false);
    assert.equal(
      parseFlags("monitor", table, ["--no-progress", "--progress", "always"]).given.progress,
      "never",
    );
    assert.equal(parseFlags("monitor", table, ["--progress", "always"]).given.progress, "always");
  });

  test("applies the table's defaults, and overrides before them, only to flags not given", () => {
    const table = COMMANDS.monitor.flags;
    const { given } = parseFlags("monitor", table, ["--top", "2"]);
    const values = withDefaults(table, given, { batchSize: 30 });
    assert.deepEqual(
      [
        values.top,
        values.batchSize,
        values.tol,
        values.tolSig,
        values.abs,
        values.format,
        values.maxColumns,
      ],
      [2, 30, "auto", 0.1, true, "table", 100_000],
    );
    assert.equal(values.window, undefined);
  });
});
