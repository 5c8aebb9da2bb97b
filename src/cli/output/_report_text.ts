/**
 * Text in the HTML report: escaped, and numbers to a fixed number of digits.
 *
 * @module
 */

/** Escapes text for HTML content and attribute values. */
export function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A number to `digits` decimals, or an en dash when it is absent or not finite. */
export function fmt(value: number | undefined, digits = 4): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}
