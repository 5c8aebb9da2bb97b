/**
 * Where a batch goes in the WebAssembly module's memory, and how X and the
 * centred confounds are copied there (whole, or by column blocks).
 *
 * @module
 */

import type { KernelArray } from "../core/batch_moments.ts";

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

export function align64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
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
export interface Layout {
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
export function layoutFor(
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
export function forEachBlock(
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
