/**
 * Turns parsed CSV or NDJSON records into numeric rows (features, then
 * confounds) under a bad-row policy, with date-derived confound columns.
 *
 * @module
 */

import type { CsvRecord } from "./csv.ts";
import { InputError } from "../errors.ts";
import type { NdjsonRecord } from "./ndjson.ts";
import type { BadRowLog, BadRowPolicy } from "./bad_row_log.ts";
import { csvCells, type CsvHeader, ndjsonCells, type Prepared } from "./_cells.ts";
import { type ColumnSelection, resolveColumns, type ResolvedColumns } from "./column_selection.ts";
import { type NumericRow, numericRowReader } from "./numeric_row.ts";

const LOOKAHEAD = 100;

/** Parsed records, tagged with their format: what {@linkcode openNumericTable} reads. */
export type TableRecords =
  | { format: "csv"; records: AsyncIterable<CsvRecord> }
  | { format: "ndjson"; records: AsyncIterable<NdjsonRecord> };

/** Numeric rows of a table and the columns they hold. */
export interface NumericTable {
  /** The resolved feature and confound columns. */
  columns: ResolvedColumns;
  /** The rows, lazily: bad rows are logged (policy "skip") or thrown (policy "error"). */
  rows: AsyncGenerator<NumericRow>;
}

/**
 * Opens a table of records for monitoring: resolves the columns from the
 * header (CSV) or the keys of the first records (NDJSON), choosing as features
 * every column other than the confounds and the date whose first values are
 * numbers, then yields numeric rows. Each bad row is added to `log`; with
 * policy "error" the first one also stops the stream with an
 * {@linkcode InputError} naming its line.
 *
 * @param input The parsed records, tagged with their format.
 * @param selection The confound, feature and date columns.
 * @param policy What to do with a bad row.
 * @param log Where bad rows are counted.
 * @returns The columns and the rows.
 * @throws {InputError} If a selected column does not exist, no feature is numeric, or the CSV is empty.
 */
export async function openNumericTable(
  input: TableRecords,
  selection: ColumnSelection,
  policy: BadRowPolicy,
  log: BadRowLog,
): Promise<NumericTable> {
  let csvHeader: Promise<CsvHeader> | undefined;
  let prepared: AsyncGenerator<Prepared>;
  if (input.format === "csv") {
    const csv = csvCells(input.records);
    csvHeader = csv.header;
    prepared = csv.rows;
  } else {
    prepared = ndjsonCells(input.records);
  }
  // Look ahead at the first rows to infer which columns are numeric; they are
  // replayed afterwards so nothing is lost.
  const buffered: Prepared[] = [];
  const keys = new Set<string>();
  while (buffered.length < LOOKAHEAD) {
    const next = await prepared.next();
    if (next.done) break;
    buffered.push(next.value);
    if (input.format === "ndjson" && next.value.ok) {
      for (const key of next.value.cells.keys ?? []) keys.add(key);
    }
  }
  const header = csvHeader ? await csvHeader : undefined;
  const available = header?.names ?? [...keys];
  const samples = buffered.flatMap((item) => (item.ok ? [item.cells] : []));
  if (input.format === "ndjson" && buffered.length === 0) {
    throw new InputError(
      "Cannot read the NDJSON input as it must hold at least one JSON object line: current value is an empty input",
    );
  }
  const columns = resolveColumns(available, samples, selection, buffered.length);
  const date = selection.dateColumn;

  const toNumericRow = numericRowReader(columns, date, header?.positions);

  async function* rows(): AsyncGenerator<NumericRow> {
    const handle = (item: Prepared): NumericRow | undefined => {
      const row = item.ok ? toNumericRow(item.cells) : item.bad;
      if ("values" in row) return row;
      log.add(row);
      if (policy === "error") {
        throw new InputError(
          `Cannot use line ${row.line} as rows must have a number in every selected column (--on-bad-row error): ${row.reason}`,
          { line: row.line },
        );
      }
      return undefined;
    };
    for (const item of buffered.splice(0)) {
      const row = handle(item);
      if (row) yield row;
    }
    for await (const item of prepared) {
      const row = handle(item);
      if (row) yield row;
    }
  }
  return { columns, rows: rows() };
}
