/**
 * Parsing a command's flags from its table: `node:util`'s `parseArgs` (Deno
 * and Bun both provide it) for the syntax, with the spec derived from the
 * table, then the zod object schema derived from the table for the values,
 * then the table's defaults.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { z } from "zod";
import { ruleMessage } from "../../core/errors.ts";
import { UsageError } from "../errors.ts";
import { camelCase, type FlagTable, type FlagValues, type GivenFlags } from "./flag.ts";

/** The `parseArgs` option spec of one flag. */
export interface ParseArgsOption {
  /** Whether the flag takes a value. */
  type: "string" | "boolean";
  /** The one-letter alias. */
  short?: string;
}

/**
 * The `parseArgs` spec of a flag table: every flag, and `no-<name>` for the
 * negatable ones and those with a negation.
 *
 * @param table The flags.
 * @returns The spec, keyed by option name.
 *
 * @example
 * ```ts
 * import { booleanFlag } from "./flag.ts";
 * import { parseArgsOptions } from "./parse_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseArgsOptions({ abs: booleanFlag({ negatable: true, default: true, help: "" }) }), {
 *   abs: { type: "boolean" },
 *   "no-abs": { type: "boolean" },
 * });
 * ```
 */
export function parseArgsOptions(table: FlagTable): Record<string, ParseArgsOption> {
  const options: Record<string, ParseArgsOption> = {};
  for (const [name, flag] of Object.entries(table)) {
    options[name] = {
      type: flag.kind === "value" ? "string" : "boolean",
      ...(flag.short !== undefined ? { short: flag.short } : {}),
    };
    const negated = flag.kind === "value" ? flag.negation !== undefined : flag.negatable;
    if (negated) options[`no-${name}`] = { type: "boolean" };
  }
  return options;
}

/**
 * The zod object schema of a flag table's values, keyed as in
 * {@linkcode GivenFlags}, in table order (so the first issue is the first
 * bad flag in the table). Every key is optional: absent flags stay undefined.
 *
 * @param table The flags.
 * @returns The schema of the raw values (strings for value flags, booleans otherwise).
 *
 * @example
 * ```ts
 * import { valueFlag } from "./flag.ts";
 * import { positiveInteger } from "./flag_schemas.ts";
 * import { flagsSchema } from "./parse_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const schema = flagsSchema({ "batch-size": valueFlag(positiveInteger(), { placeholder: "n", help: "" }) });
 * assert.deepEqual(schema.parse({ batchSize: "30" }), { batchSize: 30 });
 * ```
 */
export function flagsSchema(
  table: FlagTable,
): z.ZodType<Record<string, unknown>, Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, flag] of Object.entries(table)) {
    shape[camelCase(name)] = (flag.kind === "value" ? flag.schema : z.boolean()).optional();
  }
  return z.object(shape) as unknown as z.ZodType<Record<string, unknown>, Record<string, unknown>>;
}

/** A command line's flags, checked, and its positional arguments. */
export interface ParsedFlags<Table extends FlagTable> {
  /** The values given; undefined where a flag is absent. */
  given: GivenFlags<Table>;
  /** The positional arguments, in order. */
  positionals: string[];
}

type Token = { kind: string; name?: string };

/** Whichever of `--name` / `--no-name` came last, or undefined when neither did. */
function lastOf(tokens: readonly Token[], name: string): boolean | undefined {
  let value: boolean | undefined;
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (token.name === name) value = true;
    if (token.name === `no-${name}`) value = false;
  }
  return value;
}

/** The raw value of each flag, keyed as in the schema. */
function rawValues(
  table: FlagTable,
  values: Record<string, string | boolean | undefined>,
  tokens: readonly Token[],
): Record<string, string | boolean | undefined> {
  const raw: Record<string, string | boolean | undefined> = {};
  for (const [name, flag] of Object.entries(table)) {
    if (flag.kind === "boolean") {
      raw[camelCase(name)] = flag.negatable
        ? lastOf(tokens, name)
        : values[name] === true
        ? true
        : undefined;
    } else {
      const negated = flag.negation !== undefined && values[`no-${name}`] === true;
      raw[camelCase(name)] = negated ? flag.negation!.text : values[name];
    }
  }
  return raw;
}

/** A command line split into its flags, not yet checked, and its positional arguments. */
export interface RawFlags {
  /** The text of each value flag and the state of each boolean one, keyed as in the schema; undefined where absent. */
  values: Record<string, string | boolean | undefined>;
  /** The positional arguments, in order. */
  positionals: string[];
}

/**
 * Splits a command's arguments by its flag table (the syntax only: the
 * values are checked by {@linkcode checkFlags}).
 *
 * @param command The command, for messages ("monitor").
 * @param table The flags.
 * @param args The arguments after the command name.
 * @returns The raw flag values and the positionals.
 * @throws {UsageError} For an unknown option or a missing value.
 *
 * @example
 * ```ts
 * import { booleanFlag } from "./flag.ts";
 * import { readFlags } from "./parse_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const table = { demo: booleanFlag({ help: "" }) };
 * assert.deepEqual(readFlags("monitor", table, ["--demo", "x"]), { values: { demo: true }, positionals: ["x"] });
 * assert.throws(() => readFlags("monitor", table, ["--bogus"]), /Unknown option '--bogus'/);
 * ```
 */
export function readFlags(command: string, table: FlagTable, args: readonly string[]): RawFlags {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: parseArgsOptions(table),
      allowPositionals: true,
      strict: true,
      tokens: true,
    });
  } catch (error) {
    throw new UsageError(
      `Cannot run ${command} as its arguments must be known options with values where needed: ${
        (error as Error).message
      }`,
    );
  }
  const values = rawValues(
    table,
    parsed.values as Record<string, string | boolean | undefined>,
    parsed.tokens,
  );
  return { values, positionals: parsed.positionals };
}

/**
 * Checks the raw values against the schema derived from the table; the first
 * bad flag in table order is the one named.
 *
 * @param command The command, for messages ("monitor").
 * @param table The flags.
 * @param raw The raw values from {@linkcode readFlags}.
 * @returns The checked values (no defaults yet).
 * @throws {UsageError} For a value that breaks its flag's rule.
 *
 * @example
 * ```ts
 * import { valueFlag } from "./flag.ts";
 * import { positiveInteger } from "./flag_schemas.ts";
 * import { checkFlags } from "./parse_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const table = { top: valueFlag(positiveInteger(), { placeholder: "k", help: "" }) };
 * assert.deepEqual(checkFlags("monitor", table, { values: { top: "3" }, positionals: [] }), { top: 3 });
 * ```
 */
export function checkFlags<Table extends FlagTable>(
  command: string,
  table: Table,
  raw: RawFlags,
): GivenFlags<Table> {
  const result = flagsSchema(table).safeParse(raw.values);
  if (result.success) return result.data as GivenFlags<Table>;
  const issue = result.error.issues[0]!;
  const key = String(issue.path[0]);
  const name = Object.keys(table).find((flag) => camelCase(flag) === key) ?? key;
  throw new UsageError(ruleMessage(`run ${command}`, `--${name}`, issue.message, raw.values[key]));
}

/**
 * Parses a command's arguments against its flag table: {@linkcode readFlags}
 * then {@linkcode checkFlags}.
 *
 * @param command The command, for messages ("monitor").
 * @param table The flags.
 * @param args The arguments after the command name.
 * @returns The checked values (no defaults yet) and the positionals.
 * @throws {UsageError} For an unknown option, a missing value, or a value that breaks its rule.
 *
 * @example A value and a negatable flag
 * ```ts
 * import { booleanFlag, valueFlag } from "./flag.ts";
 * import { positiveInteger } from "./flag_schemas.ts";
 * import { parseFlags } from "./parse_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const table = {
 *   "batch-size": valueFlag(positiveInteger(), { short: "b", placeholder: "n", help: "rows per batch" }),
 *   abs: booleanFlag({ negatable: true, default: true, help: "threshold |r|" }),
 * };
 * const { given, positionals } = parseFlags("monitor", table, ["data.csv", "-b", "30", "--abs", "--no-abs"]);
 * assert.deepEqual(given, { batchSize: 30, abs: false });
 * assert.deepEqual(positionals, ["data.csv"]);
 * assert.throws(() => parseFlags("monitor", table, ["-b", "0"]), /--batch-size must be a positive integer: current value is "0"/);
 * ```
 */
export function parseFlags<Table extends FlagTable>(
  command: string,
  table: Table,
  args: readonly string[],
): ParsedFlags<Table> {
  const raw = readFlags(command, table, args);
  return { given: checkFlags(command, table, raw), positionals: raw.positionals };
}

/**
 * Applies the table's defaults, or `overrides` (such as `--demo`'s settings)
 * before them, to the flags not given.
 *
 * @param table The flags.
 * @param given The values given.
 * @param overrides Defaults that replace the table's for this run.
 * @returns Every flag's value.
 *
 * @example
 * ```ts
 * import { valueFlag } from "./flag.ts";
 * import { positiveInteger } from "./flag_schemas.ts";
 * import { withDefaults } from "./parse_flags.ts";
 * import assert from "node:assert/strict";
 *
 * const table = { top: valueFlag(positiveInteger(), { placeholder: "k", default: 5, help: "" }) };
 * assert.deepEqual(withDefaults(table, { top: undefined }), { top: 5 });
 * assert.deepEqual(withDefaults(table, { top: undefined }, { top: 3 }), { top: 3 });
 * ```
 */
export function withDefaults<Table extends FlagTable>(
  table: Table,
  given: GivenFlags<Table>,
  overrides: Partial<FlagValues<Table>> = {},
): FlagValues<Table> {
  const values: Record<string, unknown> = {};
  const givenValues = given as Record<string, unknown>;
  const overriding = overrides as Record<string, unknown>;
  for (const [name, flag] of Object.entries(table)) {
    const key = camelCase(name);
    values[key] = givenValues[key] ??
      (Object.hasOwn(overriding, key) ? overriding[key] : flag.default);
  }
  return values as FlagValues<Table>;
}
