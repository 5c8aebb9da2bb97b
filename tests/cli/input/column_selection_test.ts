import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { type CellSample, resolveColumns } from "../../../src/cli/input/column_selection.ts";
import { InputError } from "../../../src/cli/errors.ts";

/** One sampled row of numeric cells for every name. */
function numericSample(names: readonly string[]): CellSample[] {
  return [{ get: (column) => (names.includes(column) ? "1" : undefined) }];
}

function refused(
  available: string[],
  selection: Parameters<typeof resolveColumns>[2],
  message: RegExp,
): void {
  assert.throws(
    () => resolveColumns(available, numericSample(available), selection, 1),
    (error: unknown) => error instanceof InputError && message.test(error.message),
  );
}

describe("resolveColumns()", () => {
  test("refuses a header that repeats a name, naming it and its columns", () => {
    refused(
      ["x", "x", "c"],
      { confounds: ["c"] },
      /names must be unique .*: current value has "x" at columns 1 and 2$/,
    );
    // Named features do not make the repeat harmless: "x" would still be read from one column only.
    refused(["x", "c", "x"], { confounds: ["c"], features: ["x"] }, /"x" at columns 1 and 3$/);
  });

  test("refuses two empty header names, and lists several repeats", () => {
    refused(["", "", "c"], { confounds: ["c"] }, /current value has "" at columns 1 and 2$/);
    refused(
      ["a", "b", "a", "b", "a", "c"],
      { confounds: ["c"] },
      /current value has "a" at columns 1, 3 and 5, "b" at columns 2 and 4$/,
    );
  });

  test("escapes a repeated name holding terminal escapes", () => {
    refused(["\u001b[2J", "\u001b[2J", "c"], { confounds: ["c"] }, /"\\u001b\[2J" at columns 1/);
  });

  test("refuses prototype names only when repeated, and keeps them apart otherwise", () => {
    refused(
      ["__proto__", "__proto__", "c"],
      { confounds: ["c"] },
      /"__proto__" at columns 1 and 2/,
    );
    const columns = resolveColumns(
      ["__proto__", "constructor", "toString", "c"],
      numericSample(["__proto__", "constructor", "toString", "c"]),
      { confounds: ["c"] },
      1,
    );
    assert.deepEqual(columns, {
      features: ["__proto__", "constructor", "toString"],
      confounds: ["c"],
    });
  });

  test("refuses a column selected twice, or as both a feature and a confound", () => {
    const header = ["a", "b", "c"];
    refused(header, { confounds: ["c", "c"] }, /named once .*: current value names "c" twice$/);
    refused(header, { confounds: ["c"], features: ["a", "a"] }, /names "a" twice$/);
    refused(
      header,
      { confounds: ["a", "c"], features: ["a", "b"] },
      /names "a" as both a feature and a confound$/,
    );
  });

  test("refuses a --date-column whose derived names are columns of the input", () => {
    refused(
      ["date", "date.cos", "x"],
      { confounds: ["date.sin"], dateColumn: "date" },
      /--date-column "date" as the columns it derives must not already be columns of the input: current value derives "date.cos", which the input has$/,
    );
  });

  test("accepts distinct names, the derived date columns included", () => {
    const columns = resolveColumns(
      ["date", "x", "y"],
      numericSample(["x", "y"]),
      { confounds: ["date.cos", "y"], dateColumn: "date" },
      1,
    );
    assert.deepEqual(columns, { features: ["x"], confounds: ["date.cos", "y"] });
  });
});
