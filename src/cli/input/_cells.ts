/**
 * CSV and NDJSON records reduced to one shape, a cell getter per row, so
 * that the rest of the pipeline does not depend on the input format.
 *
 * @module
 */

import type { CsvRecord } from "./csv.ts";
import { InputError } from "../errors.ts";
import type { NdjsonRecord } from "./ndjson.ts";
import type { BadRow } from "./bad_row_log.ts";

/** A record reduced to a cell getter, whatever the input format. */
export interface Cells {
  /** The 1-based line where the record starts. */
  line: number;
  /** The cell of a column (undefined when the record has none). */
  get(column: string): unknown;
  /** The record's own keys (NDJSON), used to infer the columns. */
  keys?: string[];
  /** The CSV record, for reading by the header's positions. */
  record?: CsvRecord;
}

/** A CSV header: its names (trimmed) and each name's position (the last, if repeated). */
export interface CsvHeader {
  /** The column names. */
  names: string[];
  /** Where each name stands. */
  positions: ReadonlyMap<string, number>;
}

/** A record ready to be read, or the reason it cannot be. */
export type Prepared = { ok: true; cells: Cells } | { ok: false; bad: BadRow };

/** The cells of CSV records: the header resolves `header`, each later record is a row. */
export function csvCells(
  records: AsyncIterable<CsvRecord>,
): { header: Promise<CsvHeader>; rows: AsyncGenerator<Prepared> } {
  let resolveHeader!: (header: CsvHeader) => void;
  let rejectHeader!: (error: unknown) => void;
  const header = new Promise<CsvHeader>((resolve, reject) => {
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
          resolveHeader({ names, positions: index });
          continue;
        }
        if (record.width !== names.length) {
          yield {
            ok: false,
            bad: {
              line: record.line,
              kind: "wrong_width",
              reason: `wrong width: ${record.width} fields where the header has ${names.length}`,
            },
          };
          continue;
        }
        const positions = index;
        yield {
          ok: true,
          cells: {
            line: record.line,
            get: (column) => record.textAt(positions.get(column) ?? -1),
            record,
          },
        };
      }
      if (!names) {
        throw new InputError(
          "Cannot read the CSV input as it must start with a header row: current value is an empty input",
        );
      }
    } catch (error) {
      rejectHeader(error);
      throw error;
    }
  }
  return { header, rows: rows() };
}

/** The cells of NDJSON records: each JSON object is a row. */
export function ndjsonCells(records: AsyncIterable<NdjsonRecord>): AsyncGenerator<Prepared> {
  return (async function* () {
    for await (const record of records) {
      if (!record.ok) {
        yield {
          ok: false,
          bad: { line: record.line, kind: "invalid_json", reason: record.reason },
        };
        continue;
      }
      const value = record.value;
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        yield {
          ok: false,
          bad: { line: record.line, kind: "not_an_object", reason: "not a JSON object" },
        };
        continue;
      }
      const object = value as Record<string, unknown>;
      // Own keys only: an absent "constructor" or "toString" is missing, not Object's method.
      yield {
        ok: true,
        cells: {
          line: record.line,
          get: (column) => Object.hasOwn(object, column) ? object[column] : undefined,
          keys: Object.keys(object),
        },
      };
    }
  })();
}
