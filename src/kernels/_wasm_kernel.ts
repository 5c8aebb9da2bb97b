/**
 * The WebAssembly SIMD batch kernel: loads the embedded module once, copies a
 * batch into its memory and runs the two passes over X there, then lists the
 * feature columns that the checks after the kernel must look at.
 *
 * @module
 */

import type { KernelArray } from "../core/batch_moments.ts";
import { ensureMemory, loadKernel, type MomentsExports } from "./_load_wasm_kernel.ts";
import {
  align64,
  copyConfounds,
  forEachBlock,
  type Layout,
  layoutFor,
} from "./_wasm_memory_layout.ts";

export { wasmKernelAvailable } from "./_load_wasm_kernel.ts";
export { COPY_LIMITS, copyColumns, copyConfounds, paddedRowBytes } from "./_wasm_memory_layout.ts";

/** Features per strip of the fast float32 kernel (the rest go to the exact kernel). */
const FAST_STRIP = 16;

/** Copies the outputs back and lists the flagged features (see `flag_features`). */
function finish(
  wasm: MomentsExports,
  layout: Layout,
  B: number,
  F: number,
  M: number,
  epsilon: number,
  meanX: Float64Array,
  m2X: Float64Array,
  comoment: Float64Array,
): Int32Array {
  const flagged = wasm.flag_features(layout.mean, layout.m2, F, B, epsilon, layout.list);
  const buffer = wasm.memory.buffer;
  meanX.set(new Float64Array(buffer, layout.mean, F));
  m2X.set(new Float64Array(buffer, layout.m2, F));
  comoment.set(new Float64Array(buffer, layout.co, F * M));
  return new Int32Array(buffer, layout.list, flagged).slice();
}

/**
 * Feature means, centred sums of squares and co-moments of X against already
 * centred confounds, in float64, bit for bit the TypeScript kernel's values.
 *
 * @param x Features, row-major `(B, F)`.
 * @param centredN Confounds minus their means, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param meanX Output, length F.
 * @param m2X Output, length F.
 * @param comoment Output, row-major `(F, M)`.
 * @returns The features that the checks after the kernel must look at (see
 * `unusualFeatures`), or null (outputs untouched) when the kernel is
 * unavailable or the batch does not fit in 32-bit WebAssembly memory.
 */
export function wasmFeatureMoments(
  x: KernelArray,
  centredN: Float64Array,
  count: number,
  features: number,
  confounds: number,
  meanX: Float64Array,
  m2X: Float64Array,
  comoment: Float64Array,
): Int32Array | null {
  const wasm = loadKernel();
  if (wasm === null) return null;
  const B = count, F = features, M = confounds;
  const es = x.BYTES_PER_ELEMENT;
  const layout = layoutFor(B, F, M, es, B * M * 8, 0, 8);
  if (!ensureMemory(wasm.memory, layout.end)) return null;
  const buffer = wasm.memory.buffer;
  copyConfounds(new Float64Array(buffer, layout.cn, B * M), centredN, B, M);
  const entry = es === 8 ? wasm.moments_f64 : wasm.moments_f32;
  forEachBlock(x, B, F, layout, buffer, (f0, width, rowBytes) => {
    entry(
      layout.x,
      rowBytes,
      B,
      width,
      M,
      layout.cn,
      layout.mean + f0 * 8,
      layout.m2 + f0 * 8,
      layout.co + f0 * M * 8,
    );
  });
  return finish(wasm, layout, B, F, M, Number.EPSILON, meanX, m2X, comoment);
}

/**
 * The fast float32 kernel: float32 arithmetic within chunks of samples,
 * float64 across chunks (see `scripts/wasm/fast_f32_wat.ts`). Correlations
 * agree with the exact kernel to about 1e-6, not bit for bit.
 *
 * @param x Features as float32, row-major `(B, F)`.
 * @param centredN Confounds minus their means, row-major `(M, B)`.
 * @param count B.
 * @param features F.
 * @param confounds M.
 * @param meanX Output, length F.
 * @param m2X Output, length F.
 * @param comoment Output, row-major `(F, M)`.
 * @param epsilon The unit roundoff features were centred with, for the flags.
 * @returns The flagged features, or null (outputs untouched) when the kernel
 * is unavailable or the batch does not fit in 32-bit WebAssembly memory.
 */
export function wasmFastFloat32Moments(
  x: Float32Array,
  centredN: Float64Array,
  count: number,
  features: number,
  confounds: number,
  meanX: Float64Array,
  m2X: Float64Array,
  comoment: Float64Array,
  epsilon: number,
): Int32Array | null {
  const wasm = loadKernel();
  if (wasm === null) return null;
  const B = count, F = features, M = confounds;
  // Scratch: the confounds in float32 `(B, M)`, then the strip's float32 means.
  const cn32Bytes = align64(B * M * 4);
  const layout = layoutFor(B, F, M, 4, B * M * 8, cn32Bytes + FAST_STRIP * 4, FAST_STRIP);
  if (!ensureMemory(wasm.memory, layout.end)) return null;
  const buffer = wasm.memory.buffer;
  const cn = new Float64Array(buffer, layout.cn, B * M);
  copyConfounds(cn, centredN, B, M);
  new Float32Array(buffer, layout.scratch, B * M).set(cn);
  const cn32Offset = layout.scratch, mean32Offset = layout.scratch + cn32Bytes;
  new Float64Array(buffer, layout.mean, (layout.list - layout.mean) / 8).fill(0);
  forEachBlock(x, B, F, layout, buffer, (f0, width, rowBytes) => {
    const fast = width - (width % FAST_STRIP);
    const mean = layout.mean + f0 * 8, m2 = layout.m2 + f0 * 8, co = layout.co + f0 * M * 8;
    if (fast > 0) {
      wasm.moments_fast_f32(layout.x, rowBytes, B, fast, M, cn32Offset, mean, m2, co, mean32Offset);
    }
    if (fast < width) {
      wasm.moments_f32(
        layout.x + fast * 4,
        rowBytes,
        B,
        width - fast,
        M,
        layout.cn,
        mean + fast * 8,
        m2 + fast * 8,
        co + fast * M * 8,
      );
    }
  });
  return finish(wasm, layout, B, F, M, epsilon, meanX, m2X, comoment);
}

/**
 * The thresholded correlations of moments in natural feature order, as
 * `thresholdedFromMoments` computes them (the same operations, so the same
 * bits; NaN payloads aside), two lanes at a time.
 *
 * @param m2X The features' sums of squares, length F.
 * @param m2N The confounds' sums of squares, length M.
 * @param comoment The co-moments, `(F, M)`.
 * @param tol The tolerance.
 * @param abs Whether to drop the sign.
 * @param degenerate The value of a 0/0 correlation (0 or NaN).
 * @param out Storage of length F·M.
 * @returns False (out untouched) where the kernel is unavailable or the
 * arrays do not fit its memory.
 */
export function wasmView(
  m2X: Float64Array,
  m2N: Float64Array,
  comoment: Float64Array,
  tol: number,
  abs: boolean,
  degenerate: number,
  out: Float64Array,
): boolean {
  const wasm = loadKernel();
  if (wasm === null) return false;
  const F = m2X.length, M = m2N.length;
  const sdN = 0, m2 = align64(M * 8), co = align64(m2 + F * 8), values = align64(co + F * M * 8);
  if (!ensureMemory(wasm.memory, values + F * M * 8)) return false;
  const buffer = wasm.memory.buffer;
  const sd = new Float64Array(buffer, sdN, M);
  for (let m = 0; m < M; m++) sd[m] = Math.sqrt(m2N[m]!);
  new Float64Array(buffer, m2, F).set(m2X);
  new Float64Array(buffer, co, F * M).set(comoment);
  wasm.view(m2, sdN, co, F, M, tol, abs ? 1 : 0, degenerate, values);
  out.set(new Float64Array(buffer, values, F * M));
  return true;
}
