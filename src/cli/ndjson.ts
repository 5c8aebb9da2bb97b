/**
 * A streaming reader of newline-delimited JSON (one object per line).
 *
 * @module
 */

import { type ByteSource, decodeUtf8 } from "./csv.ts";

/** One NDJSON line: the parsed value, or why it could not be parsed. */
export type NdjsonRecord =
  | { ok: true; value: unknown; line: number }
  | { ok: false; reason: string; line: number };

/**
 * Splits streamed bytes into lines (LF or CRLF) and parses each non-blank line
 * as JSON. A line that is not valid JSON is returned as a failed record with
 * its line number, so that the caller's bad-row policy decides what happens.
 *
 * @param source The bytes.
 * @returns One record per non-blank line.
 *
 * @example Two lines and a broken one
 * ```ts
 * import { parseNdjson } from "./ndjson.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('{"a":1}\r\n{"a":\n\n{"a":3}');
 * const lines = [];
 * for await (const record of parseNdjson([bytes])) lines.push([record.line, record.ok]);
 * assert.deepEqual(lines, [[1, true], [2, false], [4, true]]);
 * ```
 */
export async function* parseNdjson(source: ByteSource): AsyncGenerator<NdjsonRecord> {
  let pending = "";
  let line = 0;
  for await (const text of decodeUtf8(source)) {
    pending += text;
    let newline = pending.indexOf("\n");
    let from = 0;
    while (newline !== -1) {
      line++;
      const record = parseLine(pending.slice(from, newline), line);
      if (record) yield record;
      from = newline + 1;
      newline = pending.indexOf("\n", from);
    }
    pending = pending.slice(from);
  }
  if (pending.length > 0) {
    const record = parseLine(pending, line + 1);
    if (record) yield record;
  }
}

function parseLine(raw: string, line: number): NdjsonRecord | undefined {
  const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (text.trim().length === 0) return undefined;
  try {
    return { ok: true, value: JSON.parse(text), line };
  } catch (error) {
    return { ok: false, reason: `invalid JSON (${(error as Error).message})`, line };
  }
}
