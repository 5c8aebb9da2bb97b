import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { BatchMoments } from "../../src/core/batch_moments.ts";
import {
  computeBatchMomentsFloat32,
  computeBatchMomentsWith,
  defaultMomentsKernel,
  type MomentsKernel,
} from "../../src/kernels/compute_batch_moments.ts";
import { pearsonFromMoments } from "../../src/core/correlation_view.ts";
import { BLOCK_BYTES, wasmKernelAvailable } from "../../src/kernels/_wasm_kernel.ts";
import { MOMENTS_WASM_BASE64 } from "../../src/kernels/_moments_wasm_bytes.generated.ts";
import { assembleMoments, embeddedModuleSource } from "../../scripts/wasm/assemble.ts";
import { mulberry32 as random } from "../random.ts";

/** The obviously correct reference: per pair, centre both columns and sum. */
function referenceCorrelation(
  x: ArrayLike<number>,
  n: ArrayLike<number>,
  B: number,
  F: number,
  M: number,
): Float64Array {
  const r = new Float64Array(F * M);
  for (let f = 0; f < F; f++) {
    const column = Array.from({ length: B }, (_, b) => x[b * F + f]!);
    const meanX = column.reduce((a, v) => a + v, 0) / B;
    const constantX = column.every((v) => v === column[0]);
    for (let m = 0; m < M; m++) {
      const confound = Array.from({ length: B }, (_, b) => n[m * B + b]!);
      const meanN = confound.reduce((a, v) => a + v, 0) / B;
      const constantN = confound.every((v) => v === confound[0]);
      let sxy = 0, sxx = 0, syy = 0;
      for (let b = 0; b < B; b++) {
        const dx = column[b]! - meanX, dy = confound[b]! - meanN;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
      }
      r[f * M + m] = constantX || constantN ? 0 : sxy / Math.sqrt(sxx * syy);
    }
  }
  return r;
}

interface Case {
  B: number;
  F: number;
  M: number;
  x: Float64Array;
  n: Float64Array;
}

function makeCase(B: number, F: number, M: number, seed: number): Case {
  const next = random(seed);
  const x = new Float64Array(B * F);
  for (let i = 0; i < x.length; i++) x[i] = next() * 4 - 1 + (i % F) * 0.01;
  const n = new Float64Array(M * B);
  for (let i = 0; i < n.length; i++) n[i] = next() * 2 + 3;
  return { B, F, M, x, n };
}

/** Makes some feature columns and one confound exactly constant (0.1 leaves rounding residue in a mean). */
function withConstantColumns(c: Case): Case {
  const { B, F, M } = c;
  for (let b = 0; b < B; b++) {
    c.x[b * F] = 0.1;
    if (F > 4) c.x[b * F + 3] = -7.25;
    if (F > 9) c.x[b * F + F - 1] = 1e9;
  }
  if (M > 1) { for (let b = 0; b < B; b++) c.n[(M - 1) * B + b] = 0.3; }
  return c;
}

const KERNELS: readonly MomentsKernel[] = ["wasm-simd", "typescript"];

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

function assertSameMoments(a: BatchMoments, b: BatchMoments, label: string): void {
  for (const key of ["meanX", "m2X", "meanN", "m2N", "comoment"] as const) {
    assert.deepEqual(a[key], b[key], `${label}: ${key} differs`);
  }
}

// Odd F and M exercise every tail (strips of 8, pairs, single features; confound blocks of 4, 2, 1).
const SHAPES: [number, number, number][] = [
  [1, 5, 1],
  [2, 7, 3],
  [3, 9, 2],
  [3, 1, 1],
  [4, 8, 4],
  [5, 17, 5],
  [16, 33, 7],
  [31, 11, 8],
  [64, 250, 1],
  [97, 43, 9],
];

describe("computeBatchMoments kernels", () => {
  test("the WebAssembly SIMD kernel runs in this runtime and is the default", () => {
    assert.equal(wasmKernelAvailable(), true);
    assert.equal(defaultMomentsKernel(), "wasm-simd");
  });

  for (const kernel of KERNELS) {
    for (const input of ["float64", "float32"] as const) {
      test(`the ${kernel} kernel on ${input} input matches the reference correlation to 1e-12`, () => {
        SHAPES.forEach(([B, F, M], index) => {
          const c = withConstantColumns(makeCase(B, F, M, 100 + index));
          const x = input === "float64" ? c.x : new Float32Array(c.x);
          const moments = computeBatchMomentsWith(kernel, x, c.n, B, F, M);
          const r = pearsonFromMoments(moments, "zero");
          const expected = referenceCorrelation(x, c.n, B, F, M);
          assert.ok(
            maxAbsDifference(r, expected) <= 1e-12,
            `${kernel} ${input} (${B}, ${F}, ${M})`,
          );
        });
      });
    }
  }

  test("the WebAssembly and TypeScript kernels give bit-identical moments", () => {
    SHAPES.forEach(([B, F, M], index) => {
      const c = withConstantColumns(makeCase(B, F, M, 200 + index));
      for (const x of [c.x, new Float32Array(c.x)]) {
        const wasm = computeBatchMomentsWith("wasm-simd", x, c.n, B, F, M);
        const typescript = computeBatchMomentsWith("typescript", x, c.n, B, F, M);
        assertSameMoments(wasm, typescript, `(${B}, ${F}, ${M}) ${x.constructor.name}`);
      }
    });
  });

  test("exactly constant columns get a sum of squares of exactly 0 and zero co-moments", () => {
    const c = withConstantColumns(makeCase(3, 12, 3, 7));
    for (const kernel of KERNELS) {
      const moments = computeBatchMomentsWith(kernel, c.x, c.n, 3, 12, 3);
      assert.equal(moments.m2X[0], 0);
      assert.equal(moments.m2X[3], 0);
      assert.equal(moments.m2X[11], 0);
      assert.equal(moments.m2N[2], 0);
      for (let f = 0; f < 12; f++) assert.equal(moments.comoment[f * 3 + 2], 0);
      assert.deepEqual(Array.from(moments.comoment.subarray(0, 3)), [0, 0, 0]);
      assert.ok(moments.m2X[1]! > 0);
    }
  });

  test("a batch larger than one copy block (column-blocked path) matches the TypeScript kernel", () => {
    // Above BLOCK_BYTES of float64, X goes into WebAssembly memory by column blocks.
    const F = Math.ceil(BLOCK_BYTES / (3 * 8)) * 2 + 5;
    const c = makeCase(3, F, 2, 11);
    const wasm = computeBatchMomentsWith("wasm-simd", c.x, c.n, 3, F, 2);
    const typescript = computeBatchMomentsWith("typescript", c.x, c.n, 3, F, 2);
    assertSameMoments(wasm, typescript, "column-blocked");
    const expected = referenceCorrelation(c.x, c.n, 3, F, 2);
    assert.ok(maxAbsDifference(pearsonFromMoments(wasm, "zero"), expected) <= 1e-12);
  });

  test("a non-finite element makes its column's mean non-finite in every kernel", () => {
    const c = makeCase(4, 10, 2, 3);
    c.x[2 * 10 + 9] = Number.NaN;
    c.x[1 * 10 + 2] = Number.POSITIVE_INFINITY;
    for (const kernel of KERNELS) {
      const moments = computeBatchMomentsWith(kernel, c.x, c.n, 4, 10, 2);
      assert.ok(Number.isNaN(moments.meanX[9]!));
      assert.equal(moments.meanX[2], Number.POSITIVE_INFINITY);
      assert.ok(Number.isFinite(moments.meanX[0]!));
    }
  });

  test("the fast float32 kernel matches the reference correlation to 1e-5 (float32 sums within chunks)", () => {
    // B up to 97 spans several 32-sample chunks; F from 1 to 250 covers 16-feature strips and the exact-kernel tail.
    SHAPES.forEach(([B, F, M], index) => {
      const c = makeCase(B, F, M, 300 + index);
      const x32 = new Float32Array(c.x);
      const r = pearsonFromMoments(computeBatchMomentsFloat32(x32, c.n, B, F, M), "zero");
      assert.ok(
        maxAbsDifference(r, referenceCorrelation(x32, c.n, B, F, M)) <= 1e-5,
        `(${B}, ${F}, ${M})`,
      );
    });
  });

  test("the fast float32 kernel still reports exactly constant columns as zero variance", () => {
    const c = withConstantColumns(makeCase(97, 40, 3, 8));
    const moments = computeBatchMomentsFloat32(new Float32Array(c.x), c.n, 97, 40, 3);
    assert.equal(moments.m2X[0], 0);
    assert.equal(moments.m2X[3], 0);
    assert.equal(moments.m2X[39], 0);
    assert.equal(moments.m2N[2], 0);
    assert.ok(moments.m2X.subarray(4, 39).every((v) => v > 0));
    for (let f = 0; f < 40; f++) assert.equal(moments.comoment[f * 3 + 2], 0);
  });

  test("the fast float32 kernel on float64 input and in column blocks agrees with the exact kernel to 1e-5", () => {
    const F = Math.ceil(BLOCK_BYTES / (5 * 4)) + 21;
    const c = makeCase(5, F, 2, 12);
    const exact = pearsonFromMoments(
      computeBatchMomentsWith("wasm-simd", c.x, c.n, 5, F, 2),
      "zero",
    );
    const fast = pearsonFromMoments(computeBatchMomentsFloat32(c.x, c.n, 5, F, 2), "zero");
    assert.ok(maxAbsDifference(fast, exact) <= 1e-5);
  });

  test("the committed WebAssembly bytes and WAT equal a fresh assembly of the generator", async () => {
    const { wat, bytes } = await assembleMoments();
    const committedWat = readFileSync(
      new URL("../../scripts/wasm/moments.wat", import.meta.url),
      "utf8",
    );
    assert.equal(committedWat, wat, "scripts/wasm/moments.wat is stale: run npm run build:wasm");
    const committedModule = readFileSync(
      new URL("../../src/kernels/_moments_wasm_bytes.generated.ts", import.meta.url),
      "utf8",
    );
    assert.equal(
      committedModule,
      embeddedModuleSource(bytes),
      "src/kernels/_moments_wasm_bytes.generated.ts is stale: run npm run build:wasm",
    );
    const committedBytes = Uint8Array.from(atob(MOMENTS_WASM_BASE64), (ch) => ch.charCodeAt(0));
    assert.deepEqual(committedBytes, bytes);
  });
});
