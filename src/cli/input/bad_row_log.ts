/**
 * The rows of an input that could not be used: what was wrong with each,
 * and a log that counts them all and keeps the first ones for the report.
 *
 * @module
 */

/** What to do with a row that cannot be used. */
export type BadRowPolicy = "skip" | "error";

/** One row that could not be used, and why. */
export interface BadRow {
  /** The 1-based line of the input where the row starts. */
  line: number;
  /** The kind of problem. */
  kind:
    | "wrong_width"
    | "missing_value"
    | "non_numeric"
    | "invalid_json"
    | "not_an_object"
    | "invalid_date";
  /** What was wrong, in words. */
  reason: string;
}

/** Counts every bad row and keeps the first ones for the report. */
export class BadRowLog {
  /** How many rows were bad. */
  count = 0;
  /** How many of each kind. */
  readonly byKind: Record<string, number> = {};
  /** The first {@linkcode BadRowLog.limit} bad rows, in input order. */
  readonly rows: BadRow[] = [];

  /**
   * Creates a log.
   *
   * @param limit How many bad rows to keep with their reason (all are counted).
   */
  constructor(readonly limit = 1000) {}

  /** Records a bad row. */
  add(row: BadRow): void {
    this.count++;
    this.byKind[row.kind] = (this.byKind[row.kind] ?? 0) + 1;
    if (this.rows.length < this.limit) this.rows.push(row);
  }
}
