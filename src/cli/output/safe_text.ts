/**
 * Safe display of input-derived text (cell values, column names) in messages:
 * quoted, with control, bidirectional-override and other invisible characters
 * escaped so that a hostile file cannot drive the terminal, and truncated so
 * that a huge cell cannot flood it.
 *
 * @module
 */

// C0/C1 controls, DEL, and the bidi marks/overrides/isolates that can reorder displayed text.
// deno-lint-ignore no-control-regex -- matching control characters is this pattern's purpose
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/**
 * Quotes a value from the input for a message: a string JSON-style, unsafe
 * characters as `\uXXXX`, at most `max` characters of it followed by `…`;
 * another value (NDJSON) as its JSON text.
 *
 * @param value The value (a string, or anything JSON can show).
 * @param max The most characters of the value shown.
 * @returns The quoted text.
 *
 * @example A control sequence and a long value
 * ```ts
 * import { quoteInput } from "./safe_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(quoteInput("\u001b[31mred"), '"\\u001b[31mred"');
 * assert.equal(quoteInput("x".repeat(100), 4), '"xxxx…" (100 characters)');
 * ```
 */
export function quoteInput(value: unknown, max = 80): string {
  if (typeof value !== "string") {
    // Any other value is shown as its JSON text, whose strings are already quoted.
    return safeText(JSON.stringify(value) ?? String(value), max);
  }
  const shown = escapeUnsafe(JSON.stringify(value.length > max ? value.slice(0, max) : value));
  return value.length > max ? `${shown.slice(0, -1)}…" (${value.length} characters)` : shown;
}

function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Lists column names for a message: each quoted as by
 * {@linkcode quoteInput}, at most `max` of them and then how many more.
 *
 * @param names The names.
 * @param max The most names shown.
 * @returns The list, or "none".
 *
 * @example A long header
 * ```ts
 * import { nameList } from "./safe_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(nameList(["a", "b", "c"], 2), '"a", "b" and 1 more');
 * ```
 */
export function nameList(names: readonly string[], max = 12): string {
  if (names.length === 0) return "none";
  const shown = names.slice(0, max).map((name) => quoteInput(name, 40)).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Makes a message that may quote input (such as a JSON parser's) safe to
 * print: unsafe characters escaped as by {@linkcode quoteInput}, at most
 * `max` characters.
 *
 * @param text The message.
 * @param max The most characters kept.
 * @returns The safe text.
 *
 * @example A parser message quoting a control character
 * ```ts
 * import { safeText } from "./safe_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(safeText("bad \u0007 here"), "bad \\u0007 here");
 * ```
 */
export function safeText(text: string, max = 200): string {
  const shown = text.length > max ? `${text.slice(0, max)}…` : text;
  return escapeUnsafe(shown);
}
