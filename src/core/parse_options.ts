/**
 * Option schemas validated with zod at the public boundary, and the mapping of
 * zod's issues to the platform's error types with the library's messages.
 *
 * @module
 */

import { z } from "zod";
import { ruleMessage } from "./errors.ts";
import { DEFAULT_MAX_ELEMENTS, MAX_ELEMENTS_RULE } from "./limits.ts";

/** The rule each option must satisfy, in words, for error messages. */
export const OPTION_RULES: Record<string, string> = {
  tol: 'a finite non-negative number or "auto"',
  tolSig: "a number in the open interval (0, 1)",
  abs: "a boolean",
  zeroVariance: '"zero" or "nan"',
  nu: "a finite number",
  name: "a string",
  scalarisation: '"sum", "mean", "meansq", "max", "vnorm", a Scalarisation or a function (values) => number',
  maxElements: MAX_ELEMENTS_RULE,
};

/** The `maxElements` option: the largest F·M allowed. */
export const maxElementsSchema = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Numeric or "auto" tolerance. */
export const tolSchema = z.union([z.number().nonnegative().finite(), z.literal("auto")]);

/** Options shared by `batchCorr`, the losses and the streams. */
export const correlationOptionShape = {
  tol: tolSchema.default(0),
  tolSig: z.number().gt(0).lt(1).default(0.1),
  abs: z.boolean().default(true),
  zeroVariance: z.enum(["zero", "nan"]).default("zero"),
  maxElements: maxElementsSchema.default(DEFAULT_MAX_ELEMENTS),
};

/** Schema of {@linkcode BatchCorrOptions}. */
export const batchCorrOptionsSchema = z.strictObject(correlationOptionShape);

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let node: unknown = input;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function expectsNumber(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_type") return issue.expected === "number" || issue.expected === "int";
  if (issue.code === "invalid_union") return issue.errors.some((branch) => branch.some(expectsNumber));
  return false;
}

function isRangeIssue(issue: z.core.$ZodIssue, value: unknown): boolean {
  if (issue.code === "too_small" || issue.code === "too_big") return true;
  // A number where a number is accepted but this one is not (NaN, ±Infinity)
  // is out of range, not mistyped.
  return typeof value === "number" && expectsNumber(issue);
}

/**
 * Parses options with a zod schema, throwing the platform's error types with the
 * library's message format on failure.
 *
 * @param schema The zod schema.
 * @param input The options as given (undefined means none).
 * @param context What was being done, e.g. "compute batchCorr".
 * @param rules Rule texts per key, for messages.
 * @returns The parsed options with defaults applied.
 * @throws {TypeError} For a non-object, an unknown key or a wrong type.
 * @throws {RangeError} For a number outside its allowed range.
 */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  input: unknown,
  context: string,
  rules: Record<string, string> = OPTION_RULES,
): z.output<T> {
  const result = schema.safeParse(input === undefined ? {} : input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys((schema as unknown as { shape?: object }).shape ?? {});
    throw new TypeError(
      `Cannot ${context} as options must only have the known keys (${known.join(", ")}): current value has ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`,
    );
  }
  if (issue.path.length === 0) {
    throw new TypeError(ruleMessage(context, "options", "an object", input));
  }
  const key = String(issue.path[issue.path.length - 1]);
  const value = valueAt(input, issue.path);
  const subject = `options.${issue.path.map(String).join(".")}`;
  const rule = rules[key] ?? issue.message;
  const message = ruleMessage(context, subject, rule, value);
  throw isRangeIssue(issue, value) ? new RangeError(message) : new TypeError(message);
}
