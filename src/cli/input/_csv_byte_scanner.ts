/**
 * The fast half of `parseCsv`: splits whole lines of plain ASCII bytes into
 * records without decoding them, reading each cell's number on the way, and
 * stops at the first record that needs the general parser (a quote, a CR, a
 * byte over 127).
 *
 * @module
 */

import type { InputLimitError } from "../errors.ts";
import { byteRecord, type CsvRecord, type FieldTable } from "./_csv_record.ts";
import { decimalScan, scanDecimal } from "./_decimal_bytes.ts";
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
 * @param cursor Where the records' fields go; moved past the fields taken.
 * @returns Where it stopped, the line there, and a broken limit.
 */
export function scanPlainRecords(
  bytes: Uint8Array,
  range: { from: number; to: number; line: number },
  limits: ScanLimits,
  out: CsvRecord[],
  cursor: FieldCursor,
): PlainScan {
  const { to } = range;
  let line = range.line;
  let p = range.from;
  let fields = cursor.fields;
  let n = cursor.used;
  while (p < to) {
    if (bytes[p] === LF) {
      p++;
      line++;
      continue;
    }
    let first = n;
    let width = 1;
    let columnFailureAt = -1;
    let start = p;
    let i = p;
    let c = 0;
    for (;;) {
      // Most cells are numbers: read the number, and look at the bytes only if it is not the whole cell.
      let value = scanDecimal(bytes, start, to);
      i = decimalScan.end;
      c = bytes[i]!;
      if (c !== COMMA && c !== LF) {
        value = Number.NaN;
        while (c !== COMMA && c !== LF && c !== QUOTE && c !== CR && c < 128) c = bytes[++i]!;
        if (c !== COMMA && c !== LF) break;
      }
      if (n + 2 > fields.bounds.length) {
        fields = movedRecord(fields, first, n);
        n -= first;
        first = 0;
      }
      fields.bounds[n] = start;
      fields.blank[n] = value === undefined ? 1 : 0;
      fields.values[n++] = value ?? 0;
      if (c === LF) break;
      if (width === limits.maxColumns) columnFailureAt = i;
      width++;
      start = i + 1;
    }
    if (c !== LF) return stopped(cursor, fields, first, { stop: p, line });
    const failure = brokenLimit(p, i, columnFailureAt, limits, line);
    if (failure) return stopped(cursor, fields, first, { stop: p, line, failure });
    fields.bounds[n++] = i + 1;
    out.push(byteRecord(bytes, fields, first, width, line));
    p = i + 1;
    line++;
  }
  return stopped(cursor, fields, n, { stop: p, line });
}

/**
 * Where the next records' fields go: entries are never written twice, since
 * the records made keep theirs; a full table is left to them and a new one
 * started.
 */
export interface FieldCursor {
  /** The table being filled. */
  fields: FieldTable;
  /** Its entries taken. */
  used: number;
}

/**
 * A cursor at a new table.
 *
 * @returns The cursor.
 */
export function newFieldCursor(): FieldCursor {
  return { fields: newFields(TABLE_ENTRIES), used: 0 };
}

const TABLE_ENTRIES = 1 << 16;

function stopped(
  cursor: FieldCursor,
  fields: FieldTable,
  used: number,
  scan: PlainScan,
): PlainScan {
  cursor.fields = fields;
  cursor.used = used;
  return scan;
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

function newFields(size: number): FieldTable {
  return {
    bounds: new Int32Array(size),
    values: new Float64Array(size),
    blank: new Uint8Array(size),
  };
}

/** A new table holding the record being scanned (entries first…used) at its start. */
function movedRecord(fields: FieldTable, first: number, used: number): FieldTable {
  const next = newFields(Math.max(TABLE_ENTRIES, 2 * (used - first) + 2));
  next.bounds.set(fields.bounds.subarray(first, used));
  next.values.set(fields.values.subarray(first, used));
  next.blank.set(fields.blank.subarray(first, used));
  return next;
}
