/**
 * The one declaration of a command-line flag: how it is spelled, how its value
 * is checked, its default and its help. A command declares its flags once, in
 * a table of these; the `parseArgs` spec, the zod schema, the defaults and the
 * help text are all derived from that table.
 *
 * @module
 */

import { z } from "zod";

/** What every flag declares for its help. */
export interface FlagHelp {
  /** What the flag does, for the help text (wrapped there; the default is appended). */
  readonly help: string;
  /** A one-letter alias: `-b` for `--batch-size`. */
  readonly short?: string | undefined;
  /** The help section the flag is listed under (none: before the first section). */
  readonly section?: string | undefined;
}

/** A flag that takes a value: `--name value` or `--name=value`. */
export interface ValueFlag<T, D extends T | undefined = T | undefined> extends FlagHelp {
  /** The kind of flag. */
  readonly kind: "value";
  /** Checks and converts the text given; its issue message is the rule named in the error. */
  readonly schema: z.ZodType<T, string>;
  /** What the value looks like in the help: `n`, `a,b`, `csv|ndjson`. */
  readonly placeholder: string;
  /** The value when the flag is absent (undefined: none). */
  readonly default: D;
  /** How the help states a default that depends on other flags, instead of `default`. */
  readonly defaultText?: string | undefined;
  /** `--no-<name>` gives this text as the value, over any `--<name>`. */
  readonly negation?: { readonly text: string; readonly help: string } | undefined;
}

/** A flag without a value: `--demo`; a negatable one also has `--no-<name>`, and the last given wins. */
export interface BooleanFlag extends FlagHelp {
  /** The kind of flag. */
  readonly kind: "boolean";
  /** Whether `--no-<name>` exists. */
  readonly negatable: boolean;
  /** The value when neither form is given. */
  readonly default: boolean;
}

/** Any flag. */
// deno-lint-ignore no-explicit-any -- a table holds flags of every value type
export type Flag = ValueFlag<any, any> | BooleanFlag;

/** The flags of a command, keyed by their name without the leading `--`, in help order. */
export type FlagTable = Readonly<Record<string, Flag>>;

/** A flag name turned into its key in the parsed values: `batch-size` → `batchSize`. */
export type CamelCase<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<CamelCase<Tail>>}`
  : S;

/** The type of a flag's checked value, undefined when absent. */
export type GivenValue<F> = F extends ValueFlag<infer T, infer _D> ? T | undefined
  : F extends BooleanFlag ? boolean | undefined
  : never;

/** The type of a flag's value with its default applied. */
export type DefaultedValue<F> = F extends ValueFlag<infer T, infer D>
  ? (undefined extends D ? T | undefined : T)
  : F extends BooleanFlag ? boolean
  : never;

/** The values given on a command line, checked: undefined where a flag is absent. */
export type GivenFlags<Table extends FlagTable> = {
  -readonly [K in keyof Table & string as CamelCase<K>]: GivenValue<Table[K]>;
};

/** The values of a command's flags with the defaults applied. */
export type FlagValues<Table extends FlagTable> = {
  -readonly [K in keyof Table & string as CamelCase<K>]: DefaultedValue<Table[K]>;
};

/**
 * The key of a flag in the parsed values.
 *
 * @param name The flag name without `--`.
 * @returns The name in camel case.
 *
 * @example
 * ```ts
 * import { camelCase } from "./flag.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(camelCase("max-line-bytes"), "maxLineBytes");
 * ```
 */
export function camelCase(name: string): string {
  return name.replace(/-([a-z0-9])/g, (_, letter: string) => letter.toUpperCase());
}

/** The options of {@linkcode valueFlag}. */
export interface ValueFlagOptions<T, D extends T | undefined> extends FlagHelp {
  /** What the value looks like in the help. */
  readonly placeholder: string;
  /** The value when the flag is absent. */
  readonly default?: D;
  /** How the help states a default that depends on other flags. */
  readonly defaultText?: string;
  /** `--no-<name>` gives this text as the value, over any `--<name>`. */
  readonly negation?: { readonly text: string; readonly help: string };
}

/**
 * Declares a flag that takes a value.
 *
 * @param schema Checks and converts the text; its issue message is the rule in the error.
 * @param options The placeholder, default and help.
 * @returns The flag.
 *
 * @example A positive integer with a default
 * ```ts
 * import { valueFlag } from "./flag.ts";
 * import { positiveInteger } from "./flag_schemas.ts";
 * import assert from "node:assert/strict";
 *
 * const top = valueFlag(positiveInteger(), { placeholder: "k", default: 5, help: "features per confound" });
 * assert.equal(top.schema.parse("3"), 3);
 * ```
 */
export function valueFlag<T, const D extends T | undefined = undefined>(
  schema: z.ZodType<T, string>,
  options: ValueFlagOptions<T, D>,
): ValueFlag<T, D> {
  return { kind: "value", schema, ...options, default: options.default as D };
}

/**
 * Declares a flag whose value is one of a few words, shown as `a|b|c` in the
 * help and named in the error as `"a", "b" or "c"`.
 *
 * @param choices The words.
 * @param options The default and help (the placeholder is the words).
 * @returns The flag.
 *
 * @example
 * ```ts
 * import { choiceFlag } from "./flag.ts";
 * import assert from "node:assert/strict";
 *
 * const format = choiceFlag(["table", "ndjson"], { default: "table", help: "output format" });
 * assert.equal(format.placeholder, "table|ndjson");
 * assert.equal(format.schema.safeParse("xml").error?.issues[0]?.message, '"table" or "ndjson"');
 * ```
 */
export function choiceFlag<
  const C extends readonly [string, ...string[]],
  D extends C[number] | undefined = undefined,
>(
  choices: C,
  options: Omit<ValueFlagOptions<C[number], D>, "placeholder">,
): ValueFlag<C[number], D> {
  const schema = z.enum(choices as unknown as [C[number], ...C[number][]], {
    error: choiceRule(choices),
  });
  return valueFlag(schema as unknown as z.ZodType<C[number], string>, {
    ...options,
    placeholder: choices.join("|"),
  });
}

/** `"a", "b" or "c"`. */
function choiceRule(choices: readonly string[]): string {
  const quoted = choices.map((choice) => `"${choice}"`);
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

/** The options of {@linkcode booleanFlag}. */
export interface BooleanFlagOptions extends FlagHelp {
  /** Whether `--no-<name>` exists (default false). */
  readonly negatable?: boolean;
  /** The value when the flag is absent (default false). */
  readonly default?: boolean;
}

/**
 * Declares a flag without a value.
 *
 * @param options Whether it is negatable, its default and help.
 * @returns The flag.
 *
 * @example A negatable flag on by default
 * ```ts
 * import { booleanFlag } from "./flag.ts";
 * import assert from "node:assert/strict";
 *
 * const abs = booleanFlag({ negatable: true, default: true, help: "threshold |r|" });
 * assert.equal(abs.default, true);
 * ```
 */
export function booleanFlag(options: BooleanFlagOptions): BooleanFlag {
  return {
    kind: "boolean",
    ...options,
    negatable: options.negatable ?? false,
    default: options.default ?? false,
  };
}

/** The `--help` / `-h` flag every command has. */
export const HELP_FLAG: BooleanFlag = booleanFlag({ short: "h", help: "show this help" });
