/**
 * A streaming reader of newline-delimited JSON (one object per line).
 *
 * @module
 */

import { quoteInput, safeText } from "../output/safe_text.ts";
import { duplicateJsonKey } from "./_json_duplicate_key.ts";
import { type ByteSource, iterateChunks } from "./byte_source.ts";
import { type InputLimits, tooLongLine, tooManyColumns } from "./input_limits.ts";

/** One NDJSON line: the parsed value, or why it could not be parsed. */
export type NdjsonRecord =
  | { ok: true; value: unknown; line: number }
  | { ok: false; reason: string; line: number };

const LF = 10;
const CR = 13;

/**
 * Splits streamed bytes into lines (LF or CRLF) and parses each non-blank line
 * as JSON. A line that is not valid JSON, or an object that repeats a key
 * (`JSON.parse` would keep only the last value), is returned as a failed record
 * with its line number, so that the caller's bad-row policy decides what happens.
 * Lines are split on bytes, so a line's length is checked against
 * `limits.maxLineBytes` while it arrives, before it is held whole.
 *
 * @param source The bytes.
 * @param limits The most bytes per line (line end excluded) and keys per
 *   object; unlimited when absent.
 * @returns One record per non-blank line.
 * @throws {InputLimitError} As soon as a line or an object passes a limit (the lines before it are yielded first).
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
export async function* parseNdjson(
  source: ByteSource,
  limits: InputLimits = {},
): AsyncGenerator<NdjsonRecord> {
  const maxLineBytes = limits.maxLineBytes ?? Infinity;
  const maxColumns = limits.maxColumns ?? Infinity;
  // Each line is decoded on its own: a UTF-8 sequence never contains the LF byte.
  const decoder = new TextDecoder("utf-8");
  let parts: Uint8Array[] = [];
  let pendingBytes = 0;
  let line = 0;
  const parse = (last: Uint8Array): NdjsonRecord | undefined => {
    line++;
    const text = decoder.decode(
      parts.length === 0 ? last : concat([...parts, last], pendingBytes + last.byteLength),
    );
    parts = [];
    pendingBytes = 0;
    const record = parseLine(text, line);
    if (record?.ok && keyCount(record.value, maxColumns) > maxColumns) {
      throw tooManyColumns(line, maxColumns, "an NDJSON object", "keys");
    }
    return record;
  };
  for await (const chunk of iterateChunks(source)) {
    let from = 0;
    let newline = chunk.indexOf(LF);
    while (newline !== -1) {
      const lastByte = newline > from ? chunk[newline - 1] : parts.at(-1)?.at(-1);
      const content = pendingBytes + newline - from - (lastByte === CR ? 1 : 0);
      if (content > maxLineBytes) throw tooLongLine(line + 1, maxLineBytes, "an NDJSON line");
      const record = parse(chunk.subarray(from, newline));
      if (record) yield record;
      from = newline + 1;
      newline = chunk.indexOf(LF, from);
    }
    const rest = chunk.byteLength - from;
    // One byte of slack: a CR ending this chunk may belong to a CRLF.
    if (pendingBytes + rest > maxLineBytes + 1) {
      throw tooLongLine(line + 1, maxLineBytes, "an NDJSON line");
    }
    if (rest > 0) {
      // Copied: a source may reuse its chunk buffers.
      parts.push(chunk.slice(from));
      pendingBytes += rest;
    }
  }
  if (pendingBytes > 0) {
    if (pendingBytes > maxLineBytes) throw tooLongLine(line + 1, maxLineBytes, "an NDJSON line");
    const record = parse(new Uint8Array(0));
    if (record) yield record;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}

/** The number of own keys of a plain object (0 otherwise), counting no further than `stop + 1`. */
function keyCount(value: unknown, stop: number): number {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return 0;
  let count = 0;
  for (const key in value) {
    if (Object.hasOwn(value, key) && ++count > stop) break;
  }
  return count;
}

function parseLine(raw: string, line: number): NdjsonRecord | undefined {
  const text = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  if (text.trim().length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `invalid JSON (${safeText((error as Error).message)})`, line };
  }
  const repeated = duplicateJsonKey(text);
  if (repeated !== undefined) {
    return { ok: false, reason: `duplicate key ${quoteInput(repeated, 40)} in the object`, line };
  }
  return { ok: true, value, line };
}
