/**
 * The zod schemas of flag values: each reads the text given on the command
 * line and, when it does not fit, fails with the rule as its issue message
 * ("a positive integer"), which the usage error then names.
 *
 * @module
 */

import { z } from "zod";

/**
 * A number read from the text (blank is not a number) that must pass `check`.
 *
 * @param rule What the value must be, for the error.
 * @param check The rule as a predicate.
 * @returns The schema.
 *
 * @example A probability
 * ```ts
 * import { numberWhere } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * const probability = numberWhere("a number in [0, 1]", (v) => v >= 0 && v <= 1);
 * assert.equal(probability.parse(" 0.5"), 0.5);
 * assert.equal(probability.safeParse("2").error?.issues[0]?.message, "a number in [0, 1]");
 * ```
 */
export function numberWhere(
  rule: string,
  check: (value: number) => boolean,
): z.ZodType<number, string> {
  return z.string().transform((text, context) => {
    const value = text.trim() === "" ? Number.NaN : Number(text);
    if (check(value)) return value;
    context.addIssue({ code: "custom", message: rule });
    return z.NEVER;
  });
}

/** `rule`, or `rule (note)`. */
function noted(rule: string, note: string | undefined): string {
  return note === undefined ? rule : `${rule} (${note})`;
}

/**
 * A positive integer, at most `Number.MAX_SAFE_INTEGER`.
 *
 * @param note What the number counts, added to the rule in parentheses.
 * @returns The schema.
 *
 * @example
 * ```ts
 * import { positiveInteger } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(positiveInteger("a number of batches").safeParse("0").error?.issues[0]?.message,
 *   "a positive integer (a number of batches)");
 * ```
 */
export function positiveInteger(note?: string): z.ZodType<number, string> {
  // Safe integers only: beyond 2^53 consecutive integers are no longer distinct.
  return numberWhere(noted("a positive integer", note), (v) => Number.isSafeInteger(v) && v > 0);
}

/**
 * A non-negative integer, at most `Number.MAX_SAFE_INTEGER`.
 *
 * @returns The schema.
 *
 * @example
 * ```ts
 * import { nonNegativeInteger } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nonNegativeInteger().parse("0"), 0);
 * ```
 */
export function nonNegativeInteger(): z.ZodType<number, string> {
  return numberWhere("a non-negative integer", (v) => Number.isSafeInteger(v) && v >= 0);
}

/**
 * A finite number.
 *
 * @param note What the number is, added to the rule in parentheses.
 * @returns The schema.
 *
 * @example
 * ```ts
 * import { finiteNumber } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(finiteNumber().safeParse("Infinity").success, false);
 * ```
 */
export function finiteNumber(note?: string): z.ZodType<number, string> {
  return numberWhere(noted("a finite number", note), Number.isFinite);
}

/**
 * A comma-separated list of names, blank entries dropped, at least one left.
 *
 * @returns The schema.
 *
 * @example
 * ```ts
 * import { columnList } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(columnList().parse(" a, ,b"), ["a", "b"]);
 * assert.equal(columnList().safeParse(" , ").success, false);
 * ```
 */
export function columnList(): z.ZodType<string[], string> {
  const rule = "a comma-separated list of column names";
  return z.string()
    .transform((text) =>
      text.split(",").map((name) => name.trim()).filter((name) => name.length > 0)
    )
    .pipe(z.array(z.string()).min(1, rule));
}

/**
 * Any text, taken as given (a path, a column name).
 *
 * @returns The schema.
 *
 * @example
 * ```ts
 * import { text } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(text().parse(" report.html"), " report.html");
 * ```
 */
export function text(): z.ZodType<string, string> {
  return z.string();
}
