/**
 * Reads the reference fixtures written by `scripts/gen_fixtures.py` (see
 * docs/fixtures.md) in both Deno and Bun.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** An array as stored in a fixture: base64 of little-endian row-major bytes. */
export interface EncodedArray {
  dtype: "float32" | "float64";
  shape: number[];
  b64: string;
}

/** A decoded fixture array, in its stored precision. */
export interface DecodedArray {
  data: Float64Array | Float32Array;
  shape: number[];
}

/** Options exactly as a case passes them to the library. */
export interface CaseOptions {
  tol?: number | "auto";
  tolSig?: number;
  abs?: boolean;
}

/** Keys of the scalarisations stored with each case. */
export type ScalarisationKey = "sum" | "mean" | "meansq" | "max" | "vnorm1" | "vnorm2" | "vnorm3" | "vnormInf";

/** The scalarisation keys, in fixture order. */
export const SCALARISATION_KEYS: readonly ScalarisationKey[] = [
  "sum",
  "mean",
  "meansq",
  "max",
  "vnorm1",
  "vnorm2",
  "vnorm3",
  "vnormInf",
];

/** One case of `batch_corr.json`. */
export interface ValueCase {
  id: number;
  name: string;
  special: "constant" | "huge" | "tiny" | null;
  x: EncodedArray;
  n: EncodedArray;
  options: CaseOptions;
  nu: number;
  tolUsed: number;
  /** Pearson r, zero-variance pairs reported as 0 (the library's default). */
  r: EncodedArray;
  thresholded: EncodedArray;
  zeroVarianceFeatures: number;
  zeroVarianceConfounds: number;
  /** Output rows and columns that hypercoil reports as NaN. */
  hypercoilNaN: { features: number[]; confounds: number[] };
  losses: Record<ScalarisationKey, number>;
  /** The size against which each loss's relative error is judged. */
  lossScales: Record<ScalarisationKey, number>;
}

/** `batch_corr.json`. */
export interface ValueFixtures {
  seed: number;
  versions: Record<string, string>;
  featureOrder: { x: EncodedArray; n: EncodedArray; r: EncodedArray };
  cases: ValueCase[];
}

/** `auto_tol.json`. */
export interface AutoTolFixtures {
  /** `[batchSize, significance, tails, exact, scipy]`: the tolerance to 40 digits (mpmath) and from scipy's `t.ppf`. */
  entries: [number, number, 1 | 2, number, number][];
  spec: { batchSize: number; significance: number; tol: number }[];
}

/**
 * Reads and parses a JSON fixture from `tests/fixtures/`.
 *
 * @param name The file name.
 * @returns The parsed fixture.
 */
export function readFixture<T>(name: string): T {
  const path = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

/**
 * Decodes a stored array, keeping float32 data as a Float32Array.
 *
 * @param encoded The stored array.
 * @returns Its values and shape.
 */
export function decode(encoded: EncodedArray): DecodedArray {
  const bytes = Buffer.from(encoded.b64, "base64");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = encoded.dtype === "float32" ? 4 : 8;
  const length = bytes.byteLength / width;
  const expected = encoded.shape.reduce((a, b) => a * b, 1);
  if (length !== expected) throw new Error(`fixture array holds ${length} values, its shape [${encoded.shape}] needs ${expected}`);
  if (encoded.dtype === "float32") {
    const data = new Float32Array(length);
    for (let i = 0; i < length; i++) data[i] = view.getFloat32(i * 4, true);
    return { data, shape: encoded.shape };
  }
  const data = new Float64Array(length);
  for (let i = 0; i < length; i++) data[i] = view.getFloat64(i * 8, true);
  return { data, shape: encoded.shape };
}

/** A nested array of numbers of any depth. */
export type Nested = number | Nested[];

/**
 * Row-major values as nested arrays of the given shape.
 *
 * @param data The values.
 * @param shape The shape (rank ≥ 1).
 * @returns The nested arrays.
 */
export function toNested(data: ArrayLike<number>, shape: readonly number[]): Nested[] {
  const build = (offset: number, axis: number): Nested[] => {
    const extent = shape[axis]!;
    const stride = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
    const out: Nested[] = [];
    for (let i = 0; i < extent; i++) {
      out.push(axis === shape.length - 1 ? data[offset + i]! : build(offset + i * stride, axis + 1));
    }
    return out;
  };
  return build(0, 0);
}
