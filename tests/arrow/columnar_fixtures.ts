/**
 * The columnar fixtures (tests/fixtures/columnar/, written by pyarrow from
 * scripts/gen_columnar_fixtures.py) and an independent reading of their CSV
 * twins: split on commas, `Number()` per cell, an empty cell is a null.
 */

import { readFileSync } from "node:fs";
import {
  type BatchResult,
  correlateBatches,
  type CorrelateBatchesOptions,
  rowsToBatches,
} from "../../mod.ts";

/** The URL of a fixture file. */
export function fixture(name: string): URL {
  return new URL(`../fixtures/columnar/${name}`, import.meta.url);
}

/** The bytes of a fixture file. */
export function fixtureBytes(name: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(readFileSync(fixture(name)));
}

/** A CSV twin: its header and its cells (numbers, null for an empty cell, strings otherwise). */
export interface CsvTable {
  header: string[];
  rows: (number | string | null)[][];
}

/** Reads a CSV twin (no quoting: the generator writes none). */
export function readCsvFixture(name: string): CsvTable {
  const lines = readFileSync(fixture(name), "utf8").split("\n").filter((line) => line.length > 0);
  const header = lines[0]!.split(",");
  const rows = lines.slice(1).map((line) =>
    line.split(",").map((cell) => {
      if (cell === "") return null;
      const value = Number(cell);
      return Number.isNaN(value) ? cell : value;
    })
  );
  return { header, rows };
}

/** The numeric rows of the chosen columns, dropping rows with a null in any of them. */
export function numericRows(
  table: CsvTable,
  columns: readonly string[],
): { rows: number[][]; kept: number[] } {
  const indices = columns.map((name) => {
    const index = table.header.indexOf(name);
    if (index === -1) throw new Error(`no column ${name} in the CSV fixture`);
    return index;
  });
  const rows: number[][] = [];
  const kept: number[] = [];
  table.rows.forEach((row, r) => {
    const values = indices.map((i) => row[i]);
    if (values.some((value) => value === null)) return;
    if (values.some((value) => typeof value !== "number")) {
      throw new Error(`row ${r} is not numeric`);
    }
    rows.push(values as number[]);
    kept.push(r);
  });
  return { rows, kept };
}

/** The stream's results for the CSV rows batched as `rowsToBatches` batches them. */
export async function referenceResults(
  rows: number[][],
  features: number,
  batchSize: number,
  options: CorrelateBatchesOptions = {},
): Promise<BatchResult[]> {
  const width = rows[0]!.length;
  const batches = rowsToBatches(rows, {
    batchSize,
    features: Array.from({ length: features }, (_, i) => i),
    confounds: Array.from({ length: width - features }, (_, i) => features + i),
  });
  return await collect(correlateBatches(batches, options));
}

/** The bytes in chunks of `size`, as a socket or a pipe delivers them. */
export async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.slice(at, at + size);
}

/** Every value of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/** The largest |a − b| over two arrays of the same length (Infinity when the lengths differ). */
export function maxAbsDiff(
  a: ArrayLike<number> | undefined,
  b: ArrayLike<number> | undefined,
): number {
  if (a === undefined || b === undefined || a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(d)) return Infinity;
    if (d > max) max = d;
  }
  return max;
}

/** The largest difference between two result streams, over batch and running correlations and losses. */
export function resultsDiff(
  actual: readonly BatchResult[],
  expected: readonly BatchResult[],
): number {
  if (actual.length !== expected.length) return Infinity;
  let max = 0;
  actual.forEach((result, i) => {
    const reference = expected[i]!;
    if (result.batchSize !== reference.batchSize || result.count !== reference.count) {
      max = Infinity;
    }
    max = Math.max(
      max,
      maxAbsDiff(result.correlations?.data, reference.correlations?.data),
      maxAbsDiff(result.running.correlations?.data, reference.running.correlations?.data),
      Math.abs(result.loss - reference.loss),
      Math.abs(result.running.loss - reference.running.loss),
    );
  });
  return max;
}
