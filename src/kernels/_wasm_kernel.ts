/**
 * The WebAssembly SIMD batch kernel: loads the embedded module once, copies a
 * batch into its memory and runs the two passes over X there, then lists the
 * feature columns that the checks after the kernel must look at.
 *
 * @module
 */

import type { KernelArray } from "../core/batch_moments.ts";
import { MOMENTS_WASM_BASE64 } from "./_moments_wasm_bytes.generated.ts";

interface MomentsExports {
  memory: WebAssembly.Memory;
  moments_f64: MomentsEntry;
  moments_f32: MomentsEntry;
  moments_fast_f32: FastEntry;
  flag_features: FlagEntry;
  view: ViewEntry;
}

type ViewEntry = (
  m2: number,
  sdN: number,
  co: number,
  features: number,
  confounds: number,
  tol: number,
  abs: number,
  degenerate: number,
  out: number,
) => void;

type FastEntry = (...args: [...Parameters<MomentsEntry>, mean32: number]) => void;

type FlagEntry = (
  mean: number,
  m2: number,
  features: number,
  count: number,
  epsilon: number,
  list: number,
) => number;

/** Features per strip of the fast float32 kernel (the rest go to the exact kernel). */
const FAST_STRIP = 16;

type MomentsEntry = (
  x: number,
  rowBytes: number,
  count: number,
  features: number,
  confounds: number,
  centredN: number,
  meanX: number,
  m2X: number,
  comoment: number,
) => void;

const PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB; stay below so offsets never wrap. */
const MAX_BYTES = 2 ** 32 - 2 * PAGE_BYTES;

/**
 * How X goes into the module's memory. A batch of up to `wholeBytes` is
 * copied whole, with one `TypedArray.set` (or one per row where its rows are
 * padded, see {@linkcode paddedRowBytes}); a larger one goes in by column
 * blocks of about `blockBytes`, one `set` per row of each block, so the
 * module's memory stays bounded. Mutable for the tests of the blocked path.
 */
export const COPY_LIMITS: { wholeBytes: number; blockBytes: number } = {
  wholeBytes: 16 * 2 ** 20,
  blockBytes: 4 * 2 ** 20,
};

let kernel: MomentsExports | null | undefined;

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * The instantiated kernel, or null where WebAssembly or its SIMD proposal is
 * missing (checked with `WebAssembly.validate`, so an old engine falls back
 * instead of throwing at compile time).
 */
function loadKernel(): MomentsExports | null {
  if (kernel !== undefined) return kernel;
  kernel = null;
  if (typeof WebAssembly !== "object" || typeof WebAssembly.validate !== "function") return kernel;
  const bytes = decodeBase64(MOMENTS_WASM_BASE64);
  if (!WebAssembly.validate(bytes)) return kernel;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    kernel = instance.exports as unknown as MomentsExports;
  } catch {
    kernel = null;
  }
  return kernel;
}

/**
 * Whether the WebAssembly SIMD kernel runs in this runtime.
 *
 * @returns True when the module validated and instantiated.
 */
export function wasmKernelAvailable(): boolean {
  return loadKernel() !== null;
}

function align64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
  if (bytes > MAX_BYTES) return false;
  const missing = bytes - memory.buffer.byteLength;
  if (missing <= 0) return true;
  try {
    memory.grow(Math.ceil(missing / PAGE_BYTES));
    return true;
  } catch {
    return false;
  }
}

/**
 * The row stride of X's copy. The kernel walks a strip of features down all
 * B rows; with rows a multiple of 256 bytes apart (F = 4096 float32, say)
 * those rows fall into a few cache sets and evict each other before the
 * second pass reads them again, so such rows get 64 bytes of padding.
 */
export function paddedRowBytes(width: number, elementBytes: number): number {
  const bytes = width * elementBytes;
  return bytes % 256 === 0 ? bytes + 64 : bytes;
}

/** Where one batch lives in the module's memory (byte offsets). */
interface Layout {
  cn: number;
  mean: number;
  m2: number;
  co: number;
  list: number;
  scratch: number;
  x: number;
  /** Columns per copy block (F when X is copied whole). */
  columns: number;
  /** Row stride of the copy, bytes. */
  rowBytes: number;
  end: number;
}

/**
 * The layout of a batch: centred confounds `(B, M)`, the outputs, the list of
 * flagged features, `scratchBytes` of scratch, then X's copy.
 */
function layoutFor(
  B: number,
  F: number,
  M: number,
  es: number,
  cnBytes: number,
  scratchBytes: number,
  columnMultiple: number,
): Layout {
  const whole = B * F * es <= COPY_LIMITS.wholeBytes;
  let columns = F;
  if (!whole) {
    const fit = Math.floor(COPY_LIMITS.blockBytes / (B * es));
    columns = Math.min(F, Math.max(columnMultiple, fit - (fit % columnMultiple)));
  }
  const rowBytes = paddedRowBytes(columns, es);
  const cn = 0;
  const mean = align64(cn + cnBytes);
  const m2 = align64(mean + F * 8);
  const co = align64(m2 + F * 8);
  const list = align64(co + F * M * 8);
  const scratch = align64(list + F * 4);
  const x = align64(scratch + scratchBytes);
  return { cn, mean, m2, co, list, scratch, x, columns, rowBytes, end: x + B * rowBytes };
}

/** A typed view of `length` elements of X's type at `byteOffset` of `buffer`. */
function viewLike(
  x: KernelArray,
  buffer: ArrayBufferLike,
  byteOffset: number,
  length: number,
): KernelArray {
  return x.BYTES_PER_ELEMENT === 8
    ? new Float64Array(buffer, byteOffset, length)
    : new Float32Array(buffer, byteOffset, length);
}

/**
 * Copies columns `f0 … f0 + width` of every row of X to `to` with rows
 * `rowBytes` apart: one `set` when the rows are contiguous on both sides,
 * else one per row, reading through a view (a `subarray` per row costs
 * several times more in JavaScriptCore).
 */
export function copyColumns(
  x: KernelArray,
  B: number,
  F: number,
  f0: number,
  width: number,
  buffer: ArrayBufferLike,
  to: number,
  rowBytes: number,
): void {
  const es = x.BYTES_PER_ELEMENT;
  if (width === F && rowBytes === F * es) {
    viewLike(x, buffer, to, B * F).set(x.length === B * F ? x : x.subarray(0, B * F));
    return;
  }
  for (let b = 0; b < B; b++) {
    const from = viewLike(x, x.buffer, x.byteOffset + (b * F + f0) * es, width);
    viewLike(x, buffer, to + b * rowBytes, width).set(from);
  }
}

/**
 * Runs `run(f0, width)` on each column block of X after copying it to the
 * layout's X region (the whole of X when it fits).
 */
function forEachBlock(
  x: KernelArray,
  B: number,
  F: number,
  layout: Layout,
  buffer: ArrayBufferLike,
  run: (f0: number, width: number, rowBytes: number) => void,
): void {
  for (let f0 = 0; f0 < F; f0 += layout.columns) {
    const width = Math.min(layout.columns, F - f0);
    const rowBytes = width === layout.columns
      ? layout.rowBytes
      : paddedRowBytes(width, x.BYTES_PER_ELEMENT);
    copyColumns(x, B, F, f0, width, buffer, layout.x, rowBytes);
    run(f0, width, rowBytes);
  }
}

/** Writes the centred confounds `(M, B)` into the kernel's `(B, M)` layout. */
export function copyConfounds(
  cn: Float64Array,
  centredN: Float64Array,
  B: number,
  M: number,
): void {
  if (M === 1) {
    cn.set(centredN);
    return;
  }
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < B; b++) cn[b * M + m] = centredN[m * B + b]!;
  }
}

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
