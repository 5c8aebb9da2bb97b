/**
 * Reads the reference fixtures written by `scripts/gen_fixtures.py` (see
 * docs/fixtures.md) in both Deno and Bun. The fixtures store their inputs as
 * recipes (a mulberry32 seed and shapes); {@linkcode readFixture} rebuilds each
 * case's `x` and `n` from its recipe, bit for bit as the Python generator did,
 * and checks them against the stored digest.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  buildInputs,
  inputDigest,
  type InputRecipe,
  type RecreatedArray,
  type RngCheck,
  verifyRng,
} from "./fixture_inputs.ts";

export type { InputRecipe, RecreatedArray } from "./fixture_inputs.ts";

/** An array as stored in a fixture: base64 of little-endian row-major bytes. */
export interface StoredArray {
  dtype: "float32" | "float64";
  shape: number[];
  b64: string;
}

/** A fixture array: stored as base64, or an input recreated from its recipe. */
export type EncodedArray = StoredArray | RecreatedArray;

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
export type ScalarisationKey =
  | "sum"
  | "mean"
  | "meansq"
  | "max"
  | "vnorm1"
  | "vnorm2"
  | "vnorm3"
  | "vnormInf";

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
  /** How x and n were generated; {@linkcode readFixture} builds them from it. */
  input: InputRecipe;
  /** SHA-256 prefix of x's and n's bytes, as the generator built them. */
  inputDigest: string;
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
  inputs: InputsHeader;
  featureOrder: {
    input: InputRecipe;
    inputDigest: string;
    x: EncodedArray;
    n: EncodedArray;
    r: EncodedArray;
  };
  cases: ValueCase[];
}

/** `auto_tol.json`. */
export interface AutoTolFixtures {
  /** `[batchSize, significance, tails, exact, scipy]`: the tolerance to 40 digits (mpmath) and from scipy's `t.ppf`. */
  entries: [number, number, 1 | 2, number, number][];
  spec: { batchSize: number; significance: number; tol: number }[];
}

/** `auto_tol_tiny.json`: upper tails too small for the float64 level `1 − significance / tails`. */
export interface AutoTolTinyFixtures {
  /** `[batchSize, significance, tails, exact, scipy]`: mpmath at 80 digits; scipy's `t.isf` (null where not finite). */
  entries: [number, number, 1 | 2, number, number | null][];
}

/** The top-level `inputs` entry of a fixture whose cases hold input recipes. */
export interface InputsHeader {
  recipeVersion: number;
  builder: string;
  rngCheck: RngCheck;
}

/** The recipe version this loader builds; the generator writes it into the fixture. */
const RECIPE_VERSION = 1;

interface WithRecipe {
  input: InputRecipe;
  inputDigest: string;
  x?: EncodedArray;
  n?: EncodedArray;
}

/**
 * Reads and parses a JSON fixture from `tests/fixtures/`. When the fixture has an
 * `inputs` header, every object holding an `input` recipe (each case, and
 * `featureOrder`) gets its `x` and `n` rebuilt from it; a digest that does not
 * match throws, naming the case.
 *
 * @param name The file name.
 * @returns The parsed fixture, with its inputs.
 */
export function readFixture<T>(name: string): T {
  const path = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const payload = JSON.parse(readFileSync(path, "utf8")) as {
    inputs?: InputsHeader;
    cases?: WithRecipe[];
    featureOrder?: WithRecipe;
  };
  if (payload.inputs !== undefined) {
    if (payload.inputs.recipeVersion !== RECIPE_VERSION) {
      throw new Error(
        `${name}: input recipe version ${payload.inputs.recipeVersion}, this loader builds version ${RECIPE_VERSION}`,
      );
    }
    verifyRng(payload.inputs.rngCheck);
    const holders = [
      ...(payload.cases ?? []),
      ...(payload.featureOrder ? [payload.featureOrder] : []),
    ];
    holders.forEach((holder, index) => recreate(holder, `${name} entry ${index}`));
  }
  return payload as T;
}

function recreate(holder: WithRecipe, label: string): void {
  const { x, n } = buildInputs(holder.input);
  const digest = inputDigest(x, n);
  if (digest !== holder.inputDigest) {
    throw new Error(
      `${label}: the inputs rebuilt from seed ${holder.input.seed} have digest ${digest}, ` +
        `the generator's had ${holder.inputDigest} (tests/fixture_inputs.ts and scripts/fixture_inputs.py disagree)`,
    );
  }
  holder.x = x;
  holder.n = n;
}

/**
 * Decodes a stored array, keeping float32 data as a Float32Array.
 *
 * @param encoded The stored array.
 * @returns Its values and shape.
 */
export function decode(encoded: EncodedArray): DecodedArray {
  if ("data" in encoded) return { data: encoded.data.slice(), shape: [...encoded.shape] };
  const bytes = Buffer.from(encoded.b64, "base64");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = encoded.dtype === "float32" ? 4 : 8;
  const length = bytes.byteLength / width;
  const expected = encoded.shape.reduce((a, b) => a * b, 1);
  if (length !== expected) {
    throw new Error(
      `fixture array holds ${length} values, its shape [${encoded.shape}] needs ${expected}`,
    );
  }
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
      out.push(
        axis === shape.length - 1 ? data[offset + i]! : build(offset + i * stride, axis + 1),
      );
    }
    return out;
  };
  return build(0, 0);
}
