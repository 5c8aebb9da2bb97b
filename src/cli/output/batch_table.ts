/**
 * The per-batch table `monitor` prints by default: one line per batch with
 * where it starts, its size, tol, and the batch, running and window losses.
 *
 * @module
 */

import type { BatchResult } from "../../stream/batch_result.ts";
import { safeText } from "./safe_text.ts";

/** The most characters of a date cell shown in the table. */
const DATE_CHARACTERS = 40;
/** The most characters of a skip reason shown. */
const REASON_CHARACTERS = 1000;

/** Where a batch starts in the input. */
export interface BatchStart {
  /** The 1-based line of its first row. */
  line: number;
  /** The date cell of its first row, when a date column is used. */
  date?: string | undefined;
}

const HEADER = `${"batch".padStart(6)}  ${"from line".padStart(9)}  ${"rows".padStart(5)}  ${
  "tol".padStart(6)
}  ${"batch loss".padStart(10)}  ${"running".padStart(8)}  ${"window".padStart(8)}  alert`;

/**
 * A loss or tol to a fixed number of decimals, or an en dash when absent or not finite.
 *
 * @param value The number.
 * @param digits The decimals.
 * @returns The text.
 *
 * @example
 * ```ts
 * import { fixed } from "./batch_table.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(fixed(0.123456), "0.1235");
 * assert.equal(fixed(Number.NaN), "–");
 * ```
 */
export function fixed(value: number | undefined, digits = 4): string {
  return value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

/**
 * The table's header line.
 *
 * @param withDate Whether a column shows each batch's first date.
 * @returns The line, without a newline.
 *
 * @example
 * ```ts
 * import { batchTableHeader } from "./batch_table.ts";
 * import assert from "node:assert/strict";
 *
 * assert.match(batchTableHeader(true), /from line {2}first date/);
 * ```
 */
export function batchTableHeader(withDate: boolean): string {
  return withDate ? HEADER.replace("from line", `from line  ${"first date".padEnd(10)}`) : HEADER;
}

/**
 * The table line of one batch; a skipped batch shows its reason. Text from the
 * input (the date cell) and the reason are escaped as by `safeText`.
 *
 * @param result The batch's result.
 * @param start Where the batch starts.
 * @param alert Whether it crossed the alert level.
 * @param withDate Whether the first date is shown.
 * @returns The line, without a newline.
 */
export function batchTableRow(
  result: BatchResult,
  start: BatchStart,
  alert: boolean,
  withDate: boolean,
): string {
  // A line is unknown for a group's batches published without one.
  const line = Number.isFinite(start.line) ? String(start.line) : "–";
  // The date cell is input text: escaped (and cut) like every cell that reaches the terminal.
  const date = safeText(start.date ?? "", DATE_CHARACTERS);
  const from = `${line.padStart(9)}${withDate ? `  ${date.padEnd(10)}` : ""}`;
  if (result.skipped) {
    return `${String(result.index).padStart(6)}  ${from}  skipped: ${
      safeText(result.skipped.reason, REASON_CHARACTERS)
    }`;
  }
  return `${String(result.index).padStart(6)}  ${from}  ${String(result.batchSize).padStart(5)}  ${
    fixed(result.tol, 3).padStart(6)
  }  ${fixed(result.loss).padStart(10)}  ${fixed(result.running.loss).padStart(8)}  ${
    fixed(result.window?.loss).padStart(8)
  }  ${alert ? "ALERT" : ""}`;
}
