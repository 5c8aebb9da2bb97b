/**
 * The first key a JSON object text repeats at its top level. `JSON.parse`
 * keeps only the last value of a repeated key, so without this check one of
 * the two values would be dropped silently.
 *
 * @module
 */

const QUOTE = 34; // "
const BACKSLASH = 92;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const COMMA = 44;

/** The index just past the string whose opening quote is at `start`. */
function stringEnd(text: string, start: number): number {
  let at = start + 1;
  while (true) {
    const quote = text.indexOf('"', at);
    if (quote === -1) return text.length;
    let backslashes = 0;
    for (let i = quote - 1; i > start && text.charCodeAt(i) === BACKSLASH; i--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    at = quote + 1;
  }
}

/** The key a quoted JSON string stands for (escapes such as `\u0078` decoded). */
function keyOf(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end - 1);
  return raw.includes("\\") ? JSON.parse(text.slice(start, end)) as string : raw;
}

/**
 * The first top-level key that a JSON object text gives twice.
 *
 * @param text Valid JSON text (already accepted by `JSON.parse`).
 * @returns The repeated key, or undefined when there is none or the text is not an object.
 */
export function duplicateJsonKey(text: string): string | undefined {
  const first = text.search(/\S/);
  if (first === -1 || text.charCodeAt(first) !== OPEN_BRACE) return undefined;
  const keys = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = first; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (depth === 1 && expectKey) {
        const key = keyOf(text, i, end);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
      i = end - 1;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      expectKey = depth === 1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    } else if (c === COMMA && depth === 1) {
      expectKey = true;
    }
  }
  return undefined;
}
