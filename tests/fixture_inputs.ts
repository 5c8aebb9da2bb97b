/**
 * Recreates the inputs of the reference fixtures from their recipes, bit for bit
 * as `scripts/fixture_inputs.py` builds them (the algorithm is written out in
 * that file's docstring and in docs/fixtures.md).
 *
 * Every step is exact in float64: 32-bit draws of mulberry32, sums and products
 * of integers below 2^53, floor divisions and multiplications by powers of two.
 * No `Math.log`, `Math.cos` or `Math.sqrt`, which may differ in the last bit
 * between V8 and JavaScriptCore, so Deno, Bun and CPython build the same arrays.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { mulberry32 } from "./random.ts";

/** How a fixture case's X and N are generated (field meanings: docs/fixtures.md). */
export interface InputRecipe {
  seed: number;
  batchSize: number;
  featureShape: number[];
  confounds: number;
  nVector: boolean;
  strength: number;
  xDtype: "float32" | "float64";
  nDtype: "float32" | "float64";
  exponentShift?: number;
  offset?: { x: number; n: number } | null;
  constantFeatures?: [number, number][];
  constantConfounds?: [number, number][];
}

/** An input array recreated from its recipe, in its dtype. */
export interface RecreatedArray {
  dtype: "float32" | "float64";
  shape: number[];
  data: Float64Array | Float32Array;
}

/** The first raw draws of one seed, as the Python generator saw them. */
export interface RngCheck {
  seed: number;
  u32: number[];
}

const TWO_POW_32 = 4294967296;
const EXACT_LIMIT = 2 ** 53;

/** 2^k, built by exact doublings or halvings rather than `Math.pow`. */
function pow2(k: number): number {
  let value = 1;
  for (let i = 0; i < k; i++) value *= 2;
  for (let i = 0; i > k; i--) value /= 2;
  return value;
}

/** The draws of mulberry32 as 32-bit, 24-bit and Irwin–Hall integers. */
class IntegerDraws {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = mulberry32(seed);
  }

  u32(): number {
    return this.#next() * TWO_POW_32;
  }

  int24(): number {
    return Math.floor(this.#next() * 16777216);
  }

  gauss(): number {
    return this.int24() + this.int24() + this.int24() + this.int24() - 33554432;
  }
}

function exact(value: number): number {
  if (!(Math.abs(value) < EXACT_LIMIT)) {
    throw new Error(`fixture input integer ${value} is not exact in float64`);
  }
  return value;
}

/** Smallest s ≥ 0 with every |v| < 2^(bits + s). */
function topBitsShift(values: readonly number[], bits: number): number {
  let largest = 0;
  for (const v of values) largest = Math.max(largest, Math.abs(v));
  let shift = 0;
  for (let limit = pow2(bits); largest >= limit; limit *= 2) shift++;
  return shift;
}

function scaledColumn(
  values: readonly number[],
  exponent: number,
  dtype: "float32" | "float64",
): number[] {
  if (dtype === "float32") {
    const shift = topBitsShift(values, 24);
    const divisor = pow2(shift);
    const scale = pow2(shift + exponent);
    return values.map((v) => Math.floor(v / divisor) * scale);
  }
  const scale = pow2(exponent);
  return values.map((v) => exact(v) * scale);
}

function offsetColumn(values: readonly number[], offset: number): number[] {
  const divisor = pow2(topBitsShift(values, 23));
  const scale = pow2(-21);
  return values.map((v) => offset + Math.floor(v / divisor) * scale);
}

/**
 * Builds X `(B, ...featureShape)` and N `(M, B)` or `(B)` from a recipe.
 *
 * @param recipe The case's stored recipe.
 * @returns The two arrays, in their dtypes.
 */
export function buildInputs(recipe: InputRecipe): { x: RecreatedArray; n: RecreatedArray } {
  const B = recipe.batchSize;
  const M = recipe.confounds;
  const F = recipe.featureShape.reduce((a, b) => a * b, 1);
  const offset = recipe.offset ?? null;
  const draws = new IntegerDraws(recipe.seed);

  const zN = Array.from({ length: M }, () => Array.from({ length: B }, () => draws.gauss()));
  const nColumns: number[][] = [];
  for (let m = 0; m < M; m++) {
    const mult = 2 * (draws.int24() >> 17) + 1;
    const off = (draws.int24() >> 16) - 128;
    const exponent = (draws.int24() >> 21) - 4;
    if (offset !== null && offset.n !== 0) {
      nColumns.push(offsetColumn(zN[m]!.map((z) => mult * z), offset.n));
    } else {
      const ints = zN[m]!.map((z) => exact(mult * z + off * 4194304));
      nColumns.push(scaledColumn(ints, exponent - 26, recipe.nDtype));
    }
  }

  const xColumns: number[][] = [];
  for (let f = 0; f < F; f++) {
    const weight = draws.int24() >> 20;
    const loadings = Array.from(
      { length: M },
      () => ((draws.int24() >> 20) - 8) * weight * recipe.strength,
    );
    const xInt: number[] = [];
    for (let b = 0; b < B; b++) {
      const noise = draws.gauss();
      let sum = 0;
      for (let m = 0; m < M; m++) sum += loadings[m]! * zN[m]![b]!;
      xInt.push(exact(sum + 32 * noise));
    }
    const mult = 2 * (draws.int24() >> 17) + 1;
    const off = (draws.int24() >> 13) - 1024;
    const exponent = (draws.int24() >> 20) - 8;
    if (offset !== null) {
      xColumns.push(offsetColumn(xInt, offset.x));
    } else {
      const ints = xInt.map((v) => exact(mult * v + off * 1073741824));
      xColumns.push(scaledColumn(ints, exponent - 30 + (recipe.exponentShift ?? 0), recipe.xDtype));
    }
  }

  for (const [column, value] of recipe.constantFeatures ?? []) {
    xColumns[column] = new Array<number>(B).fill(value);
  }
  for (const [column, value] of recipe.constantConfounds ?? []) {
    nColumns[column] = new Array<number>(B).fill(value);
  }

  const x = recipe.xDtype === "float32" ? new Float32Array(B * F) : new Float64Array(B * F);
  xColumns.forEach((column, f) => column.forEach((v, b) => store(x, b * F + f, v, "X")));
  const n = recipe.nDtype === "float32" ? new Float32Array(M * B) : new Float64Array(M * B);
  nColumns.forEach((column, m) => column.forEach((v, b) => store(n, m * B + b, v, "N")));
  return {
    x: { dtype: recipe.xDtype, shape: [B, ...recipe.featureShape], data: x },
    n: { dtype: recipe.nDtype, shape: recipe.nVector ? [B] : [M, B], data: n },
  };
}

/** Writes one value, refusing any that its dtype would round. */
function store(
  target: Float32Array | Float64Array,
  index: number,
  value: number,
  what: string,
): void {
  target[index] = value;
  if (target[index] !== value) {
    throw new Error(`fixture input ${what} value ${value} is not exact in its dtype`);
  }
}

/**
 * The first 16 hex digits of the SHA-256 of X's and then N's little-endian bytes,
 * as `input_digest` in `scripts/fixture_inputs.py`.
 *
 * @param arrays The arrays in order.
 * @returns The digest.
 */
export function inputDigest(...arrays: RecreatedArray[]): string {
  const hash = createHash("sha256");
  for (const { data } of arrays) {
    const width = data instanceof Float32Array ? 4 : 8;
    const bytes = Buffer.alloc(data.length * width);
    for (let i = 0; i < data.length; i++) {
      if (width === 4) bytes.writeFloatLE(data[i]!, i * 4);
      else bytes.writeDoubleLE(data[i]!, i * 8);
    }
    hash.update(bytes);
  }
  return hash.digest("hex").slice(0, 16);
}

/**
 * Throws unless this mulberry32 draws what the Python generator drew.
 *
 * @param check The stored draws.
 */
export function verifyRng(check: RngCheck): void {
  const draws = new IntegerDraws(check.seed);
  const got = check.u32.map(() => draws.u32());
  if (got.some((v, i) => v !== check.u32[i])) {
    throw new Error(
      `mulberry32(${check.seed}) drew [${got}] where the fixture generator drew [${check.u32}]: ` +
        "tests/random.ts no longer matches scripts/fixture_inputs.py, so no fixture input can be recreated",
    );
  }
}
