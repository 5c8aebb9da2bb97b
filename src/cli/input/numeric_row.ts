/**
 * One input row as numbers: features, then confounds, with the date-derived
 * confounds computed, or the reason the row is bad.
 *
 * @module
 */

import { quoteInput } from "../output/safe_text.ts";
import type { BadRow } from "./bad_row_log.ts";
import { cellNumber, DATE_SUFFIXES, dateFeatures } from "./_cell_values.ts";
import type { ResolvedColumns } from "./column_selection.ts";

/** A row of numbers ready for batching: features then confounds. */
export interface NumericRow {
  /** The values, features first then confounds. */
  values: number[];
  /** The 1-based input line. */
  line: number;
  /** The date cell as written, when a date column is used. */
  date?: string;
}

/** A row to convert: its line and its cell of each column. */
export interface RowCells {
  /** The 1-based line where the row starts. */
  line: number;
  /** The cell of a column (undefined when the row has none). */
  get(column: string): unknown;
}

/**
 * Reads the selected columns of a row as numbers, features then confounds,
 * computing the columns derived from the date column.
 *
 * @param cells The row.
 * @param columns The features and confounds, in output order.
 * @param date The date column, if any.
 * @returns The numeric row, or the first reason it is bad.
 *
 * @example A good row and a bad one
 * ```ts
 * import { toNumericRow } from "./numeric_row.ts";
 * import assert from "node:assert/strict";
 *
 * const columns = { features: ["a"], confounds: ["c"] };
 * assert.deepEqual(toNumericRow({ line: 2, get: (c) => ({ a: "1", c: " 2" })[c] }, columns, undefined), { values: [1, 2], line: 2 });
 * assert.equal((toNumericRow({ line: 3, get: (c) => ({ a: "x", c: "2" })[c] }, columns, undefined) as { kind: string }).kind, "non_numeric");
 * ```
 */
export function toNumericRow(
  cells: RowCells,
  columns: ResolvedColumns,
  date: string | undefined,
): NumericRow | BadRow {
  let derived: [number, number, number] | undefined;
  if (date !== undefined) {
    const raw = cells.get(date);
    derived = dateFeatures(raw);
    if (!derived) {
      return {
        line: cells.line,
        kind: "invalid_date",
        reason: `invalid date ${quoteInput(raw ?? null)} in column ${quoteInput(date)}`,
      };
    }
  }
  const values: number[] = [];
  const read = (column: string, role: string): BadRow | undefined => {
    if (derived && column.startsWith(`${date}.`)) {
      const at = DATE_SUFFIXES.indexOf(
        column.slice(date!.length + 1) as typeof DATE_SUFFIXES[number],
      );
      if (at >= 0) {
        values.push(derived[at]!);
        return undefined;
      }
    }
    const raw = cells.get(column);
    const value = cellNumber(raw);
    if (value === undefined) {
      return {
        line: cells.line,
        kind: "missing_value",
        reason: `missing value in ${role} column ${quoteInput(column)}`,
      };
    }
    if (Number.isNaN(value)) {
      return {
        line: cells.line,
        kind: "non_numeric",
        reason: `non-numeric value ${quoteInput(raw)} in ${role} column ${quoteInput(column)}`,
      };
    }
    values.push(value);
    return undefined;
  };
  for (const column of columns.features) {
    const bad = read(column, "feature");
    if (bad) return bad;
  }
  for (const column of columns.confounds) {
    const bad = read(column, "confound");
    if (bad) return bad;
  }
  return date === undefined
    ? { values, line: cells.line }
    : { values, line: cells.line, date: String(cells.get(date)) };
}
