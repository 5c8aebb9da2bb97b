/**
 * Turns parsed CSV or NDJSON records into numeric rows (features, then
 * confounds) under a bad-row policy, with date-derived confound columns.
 *
 * @module
 */

import type { CsvRecord } from "./csv.ts";
import { nameList, quoteInput } from "../output/safe_text.ts";
import { InputError } from "../errors.ts";
import type { NdjsonRecord } from "./ndjson.ts";

/** What to do with a row that cannot be used. */
export type BadRowPolicy = "skip" | "error";

/** One row that could not be used, and why. */
export interface BadRow {
  /** The 1-based line of the input where the row starts. */
  line: number;
  /** The kind of problem. */
  kind: "wrong_width" | "missing_value" | "non_numeric" | "invalid_json" | "not_an_object" | "invalid_date";
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

/** A row of numbers ready for batching: features then confounds. */
export interface NumericRow {
  /** The values, features first then confounds. */
  values: number[];
  /** The 1-based input line. */
  line: number;
  /** The date cell as written, when a date column is used. */
  date?: string;
}

/** Which columns to read. */
export interface ColumnSelection {
  /** Confound column names (may name derived date columns such as `date.cos`). */
  confounds: string[];
  /** Feature column names; every other numeric column when absent. */
  features?: string[] | undefined;
  /** A date column from which `<name>.cos`, `<name>.sin` and `<name>.days` are derived. */
  dateColumn?: string | undefined;
}

/** A record reduced to a cell getter, whatever the input format. */
interface Cells {
  line: number;
  get(column: string): unknown;
  /** The record's own keys (NDJSON), used to infer the columns. */
  keys?: string[];
}

type Prepared = { ok: true; cells: Cells } | { ok: false; bad: BadRow };

const DERIVED = ["cos", "sin", "days"] as const;
const LOOKAHEAD = 100;
const DAY_MS = 86_400_000;

/** Reads a cell as a number: undefined when empty, NaN when not a finite number. */
function cellNumber(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value !== "string") return Number.NaN;
  const text = value.trim();
  if (text.length === 0) return undefined;
  const number = Number(text);
  return Number.isFinite(number) ? number : Number.NaN;
}

/**
 * The annual phase and day number of a date: `cos` and `sin` of the fraction
 * of the year elapsed (so 1 January has cos 1 and mid-July about −1), and
 * days since 1970-01-01 UTC.
 */
function dateFeatures(value: unknown): [number, number, number] | undefined {
  if (typeof value !== "string" && typeof value !== "number") return undefined;
  const time = typeof value === "number" ? value : Date.parse(value.trim());
  if (!Number.isFinite(time)) return undefined;
  const date = new Date(time);
  const yearStart = Date.UTC(date.getUTCFullYear(), 0, 1);
  const yearLength = Date.UTC(date.getUTCFullYear() + 1, 0, 1) - yearStart;
  const angle = (2 * Math.PI * (time - yearStart)) / yearLength;
  return [Math.cos(angle), Math.sin(angle), Math.floor(time / DAY_MS)];
}

function csvCells(records: AsyncIterable<CsvRecord>): { header: Promise<string[]>; rows: AsyncGenerator<Prepared> } {
  let resolveHeader!: (header: string[]) => void;
  let rejectHeader!: (error: unknown) => void;
  const header = new Promise<string[]>((resolve, reject) => {
    resolveHeader = resolve;
    rejectHeader = reject;
  });
  // The same error reaches the caller through the rows; this copy must not count as unhandled.
  header.catch(() => {});
  async function* rows(): AsyncGenerator<Prepared> {
    let names: string[] | undefined;
    let index = new Map<string, number>();
    try {
      for await (const record of records) {
        if (!names) {
          names = record.fields.map((name) => name.trim());
          index = new Map(names.map((name, i) => [name, i]));
          resolveHeader(names);
          continue;
        }
        if (record.fields.length !== names.length) {
          yield {
            ok: false,
            bad: {
              line: record.line,
              kind: "wrong_width",
              reason: `wrong width: ${record.fields.length} fields where the header has ${names.length}`,
            },
          };
          continue;
        }
        const fields = record.fields;
        yield { ok: true, cells: { line: record.line, get: (column) => fields[index.get(column) ?? -1] } };
      }
      if (!names) throw new InputError("Cannot read the CSV input as it must start with a header row: current value is an empty input");
    } catch (error) {
      rejectHeader(error);
      throw error;
    }
  }
  return { header, rows: rows() };
}

function ndjsonCells(records: AsyncIterable<NdjsonRecord>): AsyncGenerator<Prepared> {
  return (async function* () {
    for await (const record of records) {
      if (!record.ok) {
        yield { ok: false, bad: { line: record.line, kind: "invalid_json", reason: record.reason } };
        continue;
      }
      const value = record.value;
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        yield { ok: false, bad: { line: record.line, kind: "not_an_object", reason: "not a JSON object" } };
        continue;
      }
      const object = value as Record<string, unknown>;
      yield { ok: true, cells: { line: record.line, get: (column) => object[column], keys: Object.keys(object) } };
    }
  })();
}

/** The resolved columns: names and how to read each. */
export interface ResolvedColumns {
  /** Feature names, in output order. */
  features: string[];
  /** Confound names, in output order. */
  confounds: string[];
}

/**
 * Whether the sampled cells of a column are mostly numbers: a stray bad cell
 * must not hide a numeric column (it becomes a bad row instead), while a text
 * column with the odd number in it is still text.
 */
function isNumericColumn(samples: Cells[], column: string): boolean {
  let numeric = 0;
  let other = 0;
  for (const cells of samples) {
    const value = cellNumber(cells.get(column));
    if (value === undefined) continue;
    if (Number.isNaN(value)) other++;
    else numeric++;
  }
  return numeric > 0 && numeric >= other;
}

function resolveColumns(available: string[], samples: Cells[], selection: ColumnSelection, looked: number): ResolvedColumns {
  const date = selection.dateColumn;
  if (date !== undefined && !available.includes(date)) {
    throw new InputError(`Cannot use --date-column as it must name a column of the input (${nameList(available)}): current value is ${quoteInput(date)}`);
  }
  const derived = date === undefined ? [] : DERIVED.map((suffix) => `${date}.${suffix}`);
  const known = new Set([...available, ...derived]);
  for (const name of [...selection.confounds, ...(selection.features ?? [])]) {
    if (!known.has(name)) {
      throw new InputError(`Cannot select column ${quoteInput(name)} as columns must be among those of the input (${nameList([...known])}): current value is ${quoteInput(name)}`);
    }
  }
  if (selection.features === undefined && samples.length === 0) {
    throw new InputError(
      `Cannot choose the feature columns as they are inferred from the first data rows (or named with --features): current value is ${
        looked === 0 ? "an input without data rows" : `${looked} data row(s), none usable`
      }`,
    );
  }
  const features = selection.features ??
    available.filter((name) => name !== date && !selection.confounds.includes(name) && isNumericColumn(samples, name));
  if (features.length === 0) {
    throw new InputError(`Cannot monitor the input as at least one feature column must be numeric: current value is none among ${nameList(available)}`);
  }
  return { features, confounds: selection.confounds };
}

function toNumericRow(cells: Cells, columns: ResolvedColumns, date: string | undefined): NumericRow | BadRow {
  let derived: [number, number, number] | undefined;
  if (date !== undefined) {
    const raw = cells.get(date);
    derived = dateFeatures(raw);
    if (!derived) {
      return { line: cells.line, kind: "invalid_date", reason: `invalid date ${quoteInput(raw ?? null)} in column ${quoteInput(date)}` };
    }
  }
  const values: number[] = [];
  const read = (column: string, role: string): BadRow | undefined => {
    if (derived && column.startsWith(`${date}.`)) {
      const at = DERIVED.indexOf(column.slice(date!.length + 1) as typeof DERIVED[number]);
      if (at >= 0) {
        values.push(derived[at]!);
        return undefined;
      }
    }
    const raw = cells.get(column);
    const value = cellNumber(raw);
    if (value === undefined) {
      return { line: cells.line, kind: "missing_value", reason: `missing value in ${role} column ${quoteInput(column)}` };
    }
    if (Number.isNaN(value)) {
      return { line: cells.line, kind: "non_numeric", reason: `non-numeric value ${quoteInput(raw)} in ${role} column ${quoteInput(column)}` };
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
  return date === undefined ? { values, line: cells.line } : { values, line: cells.line, date: String(cells.get(date)) };
}

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
  input: { format: "csv"; records: AsyncIterable<CsvRecord> } | { format: "ndjson"; records: AsyncIterable<NdjsonRecord> },
  selection: ColumnSelection,
  policy: BadRowPolicy,
  log: BadRowLog,
): Promise<NumericTable> {
  let headerNames: Promise<string[]> | undefined;
  let prepared: AsyncGenerator<Prepared>;
  if (input.format === "csv") {
    const csv = csvCells(input.records);
    headerNames = csv.header;
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
  const available = headerNames ? await headerNames : [...keys];
  const samples = buffered.flatMap((item) => (item.ok ? [item.cells] : []));
  if (input.format === "ndjson" && buffered.length === 0) {
    throw new InputError("Cannot read the NDJSON input as it must hold at least one JSON object line: current value is an empty input");
  }
  const columns = resolveColumns(available, samples, selection, buffered.length);
  const date = selection.dateColumn;

  async function* rows(): AsyncGenerator<NumericRow> {
    const handle = (item: Prepared): NumericRow | undefined => {
      const row = item.ok ? toNumericRow(item.cells, columns, date) : item.bad;
      if ("values" in row) return row;
      log.add(row);
      if (policy === "error") {
        throw new InputError(`Cannot use line ${row.line} as rows must have a number in every selected column (--on-bad-row error): ${row.reason}`, { line: row.line });
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
