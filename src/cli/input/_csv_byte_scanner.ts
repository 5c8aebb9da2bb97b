/**
 * The fast half of `parseCsv`: splits whole lines of plain ASCII bytes into
 * records without decoding them, and stops at the first record that needs the
 * general parser (a quote, a CR, a byte over 127).
 *
 * @module
 */

import type { InputLimitError } from "../errors.ts";
import { byteRecord, type CsvRecord } from "./_csv_record.ts";
import { tooLongLine, tooManyColumns } from "./input_limits.ts";

const LF = 10;
const CR = 13;
const QUOTE = 34;
const COMMA = 44;

/** Where a scan stopped. */
export interface PlainScan {
  /** The first byte not taken: the end of the range, or the start of the record it stopped at. */
  stop: number;
  /** The line of the record at `stop`. */
  line: number;
  /** The limit the record at `stop` broke, if one did. */
  failure?: InputLimitError;
}

/** The limits, resolved (Infinity when unlimited). */
export interface ScanLimits {
  /** The most fields per record. */
  maxColumns: number;
  /** The most bytes per record, line end excluded. */
  maxLineBytes: number;
}

/**
 * Scans records from `from` up to `to`, which must be just after an LF.
 * Blank lines are skipped, as the general parser skips them.
 *
 * @param bytes The input.
 * @param range The bytes to scan and the line `from` is on.
 * @param limits The record limits.
 * @param out Where records are appended.
 * @returns Where it stopped, the line there, and a broken limit.
 */
export function scanPlainRecords(
  bytes: Uint8Array,
  range: { from: number; to: number; line: number },
  limits: ScanLimits,
  out: CsvRecord[],
): PlainScan {
  const { to } = range;
  let line = range.line;
  let p = range.from;
  // Each record takes its field starts plus one end; a field is at least one byte with its comma.
  let bounds: Int32Array = new Int32Array(Math.min(to - p, 1 << 16) + 2);
  let n = 0;
  while (p < to) {
    if (bytes[p] === LF) {
      p++;
      line++;
      continue;
    }
    const first = n;
    let i = p;
    let c = 0;
    let width = 1;
    let columnFailureAt = -1;
    if (n + 2 > bounds.length) bounds = grown(bounds, n);
    bounds[n++] = p;
    for (;;) {
      c = bytes[i]!;
      if (c > COMMA) {
        if (c > 127) break;
      } else if (c === COMMA) {
        if (width === limits.maxColumns && columnFailureAt < 0) columnFailureAt = i;
        width++;
        if (n + 2 > bounds.length) bounds = grown(bounds, n);
        bounds[n++] = i + 1;
      } else if (c === LF || c === QUOTE || c === CR) break;
      i++;
    }
    if (c !== LF) return { stop: p, line };
    const failure = brokenLimit(p, i, columnFailureAt, limits, line);
    if (failure) return { stop: p, line, failure };
    bounds[n++] = i + 1;
    out.push(byteRecord(bytes, bounds, first, width, line));
    p = i + 1;
    line++;
  }
  return { stop: p, line };
}

/** The limit a record `[start, end)` breaks first, as the general parser would meet it. */
function brokenLimit(
  start: number,
  end: number,
  columnFailureAt: number,
  limits: ScanLimits,
  line: number,
): InputLimitError | undefined {
  const tooLongAt = end - start > limits.maxLineBytes ? start + limits.maxLineBytes : -1;
  if (columnFailureAt >= 0 && (tooLongAt < 0 || columnFailureAt < tooLongAt)) {
    return tooManyColumns(line, limits.maxColumns);
  }
  return tooLongAt >= 0 ? tooLongLine(line, limits.maxLineBytes) : undefined;
}

/** A larger copy of the bounds; the records made so far keep the old array. */
function grown(bounds: Int32Array, used: number): Int32Array {
  const next = new Int32Array(bounds.length * 2);
  next.set(bounds.subarray(0, used));
  return next;
}
