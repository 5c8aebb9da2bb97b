import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { BatchMoments } from "../../src/core/batch_moments.ts";
import {
  computeBatchMomentsFloat32,
  computeBatchMomentsWith,
  computeFlaggedMomentsWith,
  defaultMomentsKernel,
  type MomentsKernel,
} from "../../src/kernels/compute_batch_moments.ts";
import { pearsonFromMoments } from "../../src/core/correlation_view.ts";
import { COPY_LIMITS, wasmKernelAvailable } from "../../src/kernels/_wasm_kernel.ts";
import { MOMENTS_WASM_BASE64 } from "../../src/kernels/_moments_wasm_bytes.generated.ts";
import { assembleMoments, EMBEDDED, embeddedModuleSource } from "../../scripts/wasm/assemble.ts";
import { assertSameArray } from "../fuzz_support.ts";
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

/** Runs `run` with other copy limits of the WebAssembly kernel, then restores them. */
function withCopyLimits(limits: typeof COPY_LIMITS, run: () => void): void {
  const saved = { ...COPY_LIMITS };
  Object.assign(COPY_LIMITS, limits);
  try {
    run();
  } finally {
    Object.assign(COPY_LIMITS, saved);
  }
}

function assertSameMoments(a: BatchMoments, b: BatchMoments, label: string): void {
  // The column-blocked case has 87,390 co-moments: deepEqual's diff of such arrays takes minutes.
  for (const key of ["meanX", "m2X", "meanN", "m2N", "comoment"] as const) {
    assertSameArray(a[key], b[key], `${label}: ${key}`);
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
    // Above COPY_LIMITS.wholeBytes, X goes into WebAssembly memory by column blocks (small limits
    // here, so the test stays small; the last block is narrower and its rows are padded).
    withCopyLimits({ wholeBytes: 4096, blockBytes: 3 * 8 * 64 }, () => {
      for (const [B, F, M] of [[3, 64 * 2 + 5, 2], [5, 64 * 3 + 32, 1], [4, 300, 9]] as const) {
        const c = withConstantColumns(makeCase(B, F, M, 11 + F));
        for (const x of [c.x, new Float32Array(c.x)]) {
          const wasm = computeBatchMomentsWith("wasm-simd", x, c.n, B, F, M);
          const typescript = computeBatchMomentsWith("typescript", x, c.n, B, F, M);
          assertSameMoments(wasm, typescript, `column-blocked (${B}, ${F}, ${M})`);
          const expected = referenceCorrelation(x, c.n, B, F, M);
          assert.ok(maxAbsDifference(pearsonFromMoments(wasm, "zero"), expected) <= 1e-12);
        }
      }
    });
  });

  test("rows a multiple of 256 bytes long are padded in the copy and give the same moments", () => {
    // F = 64 float32 (256 bytes) and F = 32 float64: the copy's rows get 64 bytes of padding.
    for (const [B, F, M, es] of [[7, 64, 3, 4], [9, 32, 2, 8], [6, 128, 1, 4]] as const) {
      const c = withConstantColumns(makeCase(B, F, M, 40 + F));
      const x = es === 4 ? new Float32Array(c.x) : c.x;
      const wasm = computeBatchMomentsWith("wasm-simd", x, c.n, B, F, M);
      const typescript = computeBatchMomentsWith("typescript", x, c.n, B, F, M);
      assertSameMoments(wasm, typescript, `padded rows (${B}, ${F}, ${M})`);
    }
  });

  test("both kernels flag exactly the unusual feature columns, and no ordinary one", () => {
    // Columns: 0 constant 0.1, 1 ordinary, 2 constant -7.25, 3 NaN, 4 Infinity, 5 1e9 + noise,
    // 6 tiny (1e-130 · noise: squares underflow), 7 ordinary, 8 constant 0, 9 1e200 (squares overflow).
    const B = 6, F = 10, M = 2;
    const c = makeCase(B, F, M, 21);
    for (let b = 0; b < B; b++) {
      const row = c.x.subarray(b * F, b * F + F);
      row[0] = 0.1;
      row[2] = -7.25;
      row[5] = 1e9 + (b % 3) * 0.25;
      row[6] = 1e-130 * (b + 1);
      row[8] = 0;
      row[9] = 1e200 * (b + 1);
    }
    c.x[3 * F + 3] = Number.NaN;
    c.x[2 * F + 4] = Number.POSITIVE_INFINITY;
    const expected = [0, 2, 3, 4, 5, 6, 8, 9];
    for (const kernel of KERNELS) {
      for (const x of [c.x, new Float32Array(c.x)]) {
        const out = computeBatchMomentsWith(kernel, x, c.n, B, F, M);
        const flagged = computeFlaggedMomentsWith(kernel, x, c.n, B, F, M, out);
        // In float32, column 6 rounds to a constant 0 and column 9 to Infinity: flagged all the same.
        assert.deepEqual(Array.from(flagged), expected, `${kernel} ${x.constructor.name}`);
      }
    }
    // Ordinary data: nothing flagged, in both kernels.
    const plain = makeCase(64, 250, 3, 22);
    for (const kernel of KERNELS) {
      const out = computeBatchMomentsWith(kernel, plain.x, plain.n, 64, 250, 3);
      assert.equal(computeFlaggedMomentsWith(kernel, plain.x, plain.n, 64, 250, 3, out).length, 0);
    }
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
    const F = 16 * 9 + 21;
    const c = makeCase(5, F, 2, 12);
    const exact = pearsonFromMoments(
      computeBatchMomentsWith("wasm-simd", c.x, c.n, 5, F, 2),
      "zero",
    );
    withCopyLimits({ wholeBytes: 1024, blockBytes: 5 * 4 * 32 }, () => {
      const fast = pearsonFromMoments(computeBatchMomentsFloat32(c.x, c.n, 5, F, 2), "zero");
      assert.ok(maxAbsDifference(fast, exact) <= 1e-5);
    });
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
    const shared = await assembleMoments("shared");
    const committedShared = readFileSync(
      new URL(`../../${EMBEDDED.shared.path}`, import.meta.url),
      "utf8",
    );
    assert.equal(
      committedShared,
      embeddedModuleSource(shared.bytes, "shared"),
      `${EMBEDDED.shared.path} is stale: run npm run build:wasm`,
    );
  });
});

describe("the corrected two-pass term (columns far from zero)", () => {
  /**
   * Exact moments by integer arithmetic: every value is an integer times 2^-20,
   * so sums are exact in BigInt and the only rounding is the final division.
   */
  function exactMoments(ints: bigint[][], nInts: bigint[], B: number) {
    const scale = 2 ** 20;
    const b = BigInt(B);
    const sumN = nInts.reduce((t, v) => t + v, 0n);
    const columns = ints[0]!.map((_, f) => ints.map((row) => row[f]!));
    const toNumber = (num: bigint, den: bigint, unit: number) => Number(num) / Number(den) / unit;
    return columns.map((column) => {
      const sum = column.reduce((t, v) => t + v, 0n);
      const sq = column.reduce((t, v) => t + v * v, 0n);
      const cross = column.reduce((t, v, i) => t + v * nInts[i]!, 0n);
      return {
        mean: Number(sum) / B / scale,
        // M2 = (B·Σx² − (Σx)²) / B, C = (B·Σxn − Σx·Σn) / B, in units of 2^-40.
        m2: toNumber(b * sq - sum * sum, b, scale * scale),
        comoment: toNumber(b * cross - sum * sumN, b, scale * scale),
      };
    });
  }

  test("1e9 + noise: the mean, M2 and the co-moment are exact to 1e-14, where the plain two-pass is not", () => {
    const next = random(41);
    const B = 203, F = 9;
    // x = 2^30 + k·2^-20 with |k| < 2^13 (spread about 3e-3, a billion spreads from zero).
    const ints = Array.from(
      { length: B },
      () =>
        Array.from(
          { length: F },
          () => (1n << 50n) + BigInt(Math.floor(next() * 2 ** 14) - 2 ** 13),
        ),
    );
    const nInts = Array.from({ length: B }, () => BigInt(Math.floor(next() * 2 ** 20)));
    const x = Float64Array.from(ints.flat(), (v) => Number(v) / 2 ** 20);
    const n = Float64Array.from(nInts, (v) => Number(v) / 2 ** 20);
    const exact = exactMoments(ints, nInts, B);
    let plainWorst = 0;
    for (const kernel of ["wasm-simd", "typescript"] as const) {
      const m = computeBatchMomentsWith(kernel, x, n, B, F, 1);
      exact.forEach((e, f) => {
        const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);
        assert.ok(rel(m.m2X[f]!, e.m2) <= 1e-14, `${kernel} m2X[${f}]: ${m.m2X[f]} vs ${e.m2}`);
        assert.ok(rel(m.comoment[f]!, e.comoment) <= 1e-12, `${kernel} comoment[${f}]`);
        assert.ok(Math.abs(m.meanX[f]! - e.mean) <= 2 ** 30 * 2 ** -52, `${kernel} meanX[${f}]`);
      });
    }
    // Plain two-pass (first-pass mean only), the reference the correction exists for.
    for (let f = 0; f < F; f++) {
      let mean = 0;
      for (let b = 0; b < B; b++) mean += x[b * F + f]!;
      mean /= B;
      let m2 = 0;
      for (let b = 0; b < B; b++) m2 += (x[b * F + f]! - mean) ** 2;
      plainWorst = Math.max(plainWorst, Math.abs(m2 - exact[f]!.m2) / exact[f]!.m2);
    }
    assert.ok(
      plainWorst > 1e-12,
      `the data must need the correction: plain two-pass off by ${plainWorst}`,
    );
  });
});
