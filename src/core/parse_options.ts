/**
 * Options validated with zod at the public boundary: the mapping of zod's
 * issues to the platform's error types with the library's messages.
 *
 * @module
 */

import type { z } from "zod";
import { ruleMessage } from "./errors.ts";
import { ownOptions, withoutPrototype } from "./own_properties.ts";

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
  if (issue.code === "invalid_union") {
    return issue.errors.some((branch) => branch.some(expectsNumber));
  }
  return false;
}

/**
 * The rule a refinement carries in `params.rule` (see {@linkcode refinedRule}), if any.
 */
function ownRule(issue: z.core.$ZodIssue): string | undefined {
  if (issue.code !== "custom") return undefined;
  const rule = (issue.params as { rule?: unknown } | undefined)?.rule;
  return typeof rule === "string" ? rule : undefined;
}

/**
 * The options of a zod `refine` whose failure the messages of
 * {@linkcode parseOptions} state with `rule` rather than the key's rule text.
 *
 * @param rule The rule, in words ("at least 2^-1022").
 * @returns `refine`'s second argument.
 */
export function refinedRule(rule: string): { message: string; params: { rule: string } } {
  return { message: rule, params: { rule } };
}

function isRangeIssue(issue: z.core.$ZodIssue, value: unknown): boolean {
  if (issue.code === "too_small" || issue.code === "too_big") return true;
  // A refinement with its own rule on a number (tolSig's smallest normal value) is a range too.
  if (ownRule(issue) !== undefined && typeof value === "number") return true;
  // A number where a number is accepted but this one is not (NaN, ±Infinity)
  // is out of range, not mistyped.
  return typeof value === "number" && expectsNumber(issue);
}

/**
 * Parses options with a zod schema, throwing the platform's error types with the
 * library's message format on failure. Only the options' own properties are
 * read, once each (see `ownOptions`), and the result reads absent keys as
 * undefined whatever `Object.prototype` holds.
 *
 * @param schema The zod schema.
 * @param input The options as given (undefined means none).
 * @param context What was being done, e.g. "compute batchCorr".
 * @param rules Rule texts per key, for messages (the table beside the schema).
 * @returns The parsed options with defaults applied.
 * @throws {TypeError} For a non-object, an unknown key or a wrong type.
 * @throws {RangeError} For a number outside its allowed range.
 */
export function parseOptions<T extends z.ZodType>(
  schema: T,
  input: unknown,
  context: string,
  rules: Readonly<Record<string, string>>,
): z.output<T> {
  // Own properties only, each read once: nothing inherited (a polluted
  // Object.prototype, an options object's prototype) reaches the schema.
  const own = ownOptions(input === undefined ? {} : input);
  const result = schema.safeParse(own);
  if (result.success) return withoutPrototype(result.data);
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const known = Object.keys((schema as unknown as { shape?: object }).shape ?? {});
    const keys = issue.keys.map((k) => JSON.stringify(k)).join(", ");
    throw new TypeError(
      `Cannot ${context} as options must only have the known keys (${
        known.join(", ")
      }): current value has ${keys}`,
    );
  }
  if (issue.path.length === 0) {
    throw new TypeError(ruleMessage(context, "options", "an object", input));
  }
  const key = String(issue.path[issue.path.length - 1]);
  const value = valueAt(own, issue.path);
  const subject = `options.${issue.path.map(String).join(".")}`;
  // A refinement may state its own rule; the table holds the rule of the type and range checks.
  const rule = ownRule(issue) ?? rules[key] ?? issue.message;
  const message = ruleMessage(context, subject, rule, value);
  throw isRangeIssue(issue, value) ? new RangeError(message) : new TypeError(message);
}
