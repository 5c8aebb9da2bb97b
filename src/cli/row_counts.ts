/**
 * The row counts of a monitor run (read, used, rejected), carried by the error
 * that stopped it so that the error report can say how far it got.
 *
 * @module
 */

/** How many data rows an input run had read, used in batches, and rejected as bad. */
export interface RowCounts {
  /** Data records parsed (the CSV header and blank lines excluded). */
  read: number;
  /** Rows passed on to the batches. */
  used: number;
  /** Bad rows (counted under either --on-bad-row policy). */
  rejected: number;
}

// Kept beside the error rather than on it, so that any error kind (an
// InputError, an I/O failure, a bug) can carry the counts to the report.
const ROW_COUNTS = new WeakMap<object, RowCounts>();

/**
 * Attaches the row counts reached when a run failed, for the error report.
 *
 * @param error The error that stopped the run.
 * @param counts The counts at that moment.
 * @returns The same error.
 */
export function withRowCounts(error: unknown, counts: RowCounts): unknown {
  if (typeof error === "object" && error !== null && !ROW_COUNTS.has(error)) {
    ROW_COUNTS.set(error, { ...counts });
  }
  return error;
}

/**
 * The row counts attached by {@linkcode withRowCounts}, if any.
 *
 * @param error An error.
 * @returns The counts, or undefined.
 */
export function rowCountsOf(error: unknown): RowCounts | undefined {
  return typeof error === "object" && error !== null ? ROW_COUNTS.get(error) : undefined;
}

/**
 * Formats row counts as one line: `rows read 120, used 100, rejected 20`.
 *
 * @param counts The counts.
 * @returns The line, without a newline.
 */
export function formatRowCounts(counts: RowCounts): string {
  return `rows read ${counts.read}, used ${counts.used}, rejected ${counts.rejected}`;
}
