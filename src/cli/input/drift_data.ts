/**
 * Synthetic tabular data with a known injected drift, for tests and demos.
 *
 * @module
 */

import { mulberry32 } from "./mulberry32.ts";

/** Settings of {@linkcode generateDriftRows}. */
export interface DriftDataOptions {
  /** Number of batches. */
  batches: number;
  /** Rows per batch. */
  batchSize: number;
  /** Number of feature columns `f0…f(k−1)`. */
  features: number;
  /** The first batch whose rows carry the drift. */
  driftBatch: number;
  /** The correlation between the drifted features and the confound, in [0, 1]. */
  strength: number;
  /** Seed of the deterministic generator. */
  seed: number;
}

/** Column names of the generated data: the features, then the confound `c`. */
export function driftColumns(features: number): string[] {
  return [...Array.from({ length: features }, (_, i) => `f${i}`), "c"];
}

function normalSampler(uniform: () => number): () => number {
  return () => {
    // Box–Muller; 1 − u keeps the logarithm's argument in (0, 1].
    const u = 1 - uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Generates rows `[f0, …, f(k−1), c]` batch by batch. The confound `c` is
 * standard normal throughout; every feature is independent noise before
 * `driftBatch`, and from it on the first `ceil(k / 2)` features become
 * `strength·c + sqrt(1 − strength²)·noise`, so their correlation with `c`
 * jumps from 0 to about `strength` at a known batch.
 *
 * @param options The shape of the data and where the drift starts.
 * @returns The rows, lazily, in batch order.
 *
 * @example A drift at batch 2
 * ```ts
 * import { generateDriftRows } from "./drift_data.ts";
 * import assert from "node:assert/strict";
 *
 * const rows = [...generateDriftRows({ batches: 4, batchSize: 10, features: 2, driftBatch: 2, strength: 1, seed: 3 })];
 * assert.equal(rows.length, 40);
 * assert.equal(rows[25]![0], rows[25]![2]); // strength 1: f0 equals c after the drift
 * ```
 */
export function* generateDriftRows(options: DriftDataOptions): Generator<number[]> {
  const normal = normalSampler(mulberry32(options.seed));
  const drifted = Math.ceil(options.features / 2);
  const r = options.strength;
  const rest = Math.sqrt(1 - r * r);
  for (let batch = 0; batch < options.batches; batch++) {
    const drifting = batch >= options.driftBatch;
    for (let row = 0; row < options.batchSize; row++) {
      const c = normal();
      const values: number[] = [];
      for (let f = 0; f < options.features; f++) {
        const noise = normal();
        values.push(drifting && f < drifted ? r * c + rest * noise : noise);
      }
      values.push(c);
      yield values;
    }
  }
}

/**
 * Formats generated rows as CSV (with a header) or NDJSON text, one line per row.
 *
 * @param options As {@linkcode generateDriftRows}.
 * @param format "csv" or "ndjson".
 * @returns The lines, each ending with a newline.
 *
 * @example The CSV header
 * ```ts
 * import { driftDataLines } from "./drift_data.ts";
 * import assert from "node:assert/strict";
 *
 * const [header] = driftDataLines({ batches: 1, batchSize: 3, features: 2, driftBatch: 0, strength: 0.5, seed: 1 }, "csv");
 * assert.equal(header, "f0,f1,c\n");
 * ```
 */
export function* driftDataLines(
  options: DriftDataOptions,
  format: "csv" | "ndjson",
): Generator<string> {
  const columns = driftColumns(options.features);
  if (format === "csv") yield `${columns.join(",")}\n`;
  for (const values of generateDriftRows(options)) {
    if (format === "csv") {
      yield `${values.join(",")}\n`;
    } else {
      yield `${JSON.stringify(Object.fromEntries(columns.map((name, i) => [name, values[i]])))}\n`;
    }
  }
}
