/**
 * One parse core for this folder's options and records: zod checks the
 * value, the rule text lives on the schema, and the first issue becomes a
 * `TypeError` (wrong type) or `RangeError` (right type, out of range) in the
 * package's message format.
 *
 * @module
 */

import type { z } from "zod";
import { describeValue } from "./_deps.ts";

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== "object" || value === null) return undefined;
    value = Object.hasOwn(value, key) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * Parses `input` with `schema`, or throws for its first issue.
 *
 * @param schema The schema; each check carries its rule as its error message.
 * @param input The value.
 * @param context What was being done ("start the monitor service").
 * @param root The name of the value in messages ("options", "record").
 * @returns The parsed value.
 * @throws {TypeError} When a value has the wrong type or an unknown key.
 * @throws {RangeError} When a value has the right type but is out of range.
 */
export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  input: unknown,
  context: string,
  root: string,
): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const subject = [root, ...issue.path.map(String)].join(".");
  if (issue.code === "unrecognized_keys") {
    throw new TypeError(
      `Cannot ${context} as ${subject} must only have known keys: current value has ${
        issue.keys.map((key) => JSON.stringify(key)).join(", ")
      }`,
    );
  }
  const value = valueAt(input, issue.path);
  const message = `Cannot ${context} as ${subject} must be ${issue.message}: current value is ${
    describeValue(value)
  }`;
  const expected = (issue as { expected?: unknown }).expected;
  // A number where numbers are accepted but not this one (1.5 for an integer, NaN) is out of range.
  const numberOutOfRange = issue.code === "invalid_type" && typeof value === "number" &&
    (expected === "number" || expected === "int");
  const wrongType = (issue.code === "invalid_type" && !numberOutOfRange) ||
    issue.code === "invalid_union" ||
    (issue.code === "custom" && (issue.params as { kind?: string } | undefined)?.kind === "type");
  throw wrongType ? new TypeError(message) : new RangeError(message);
}
