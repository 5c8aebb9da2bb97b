/**
 * The WebAssembly SIMD batch kernel: loads the embedded module once, copies a
 * batch into its memory and runs the two passes over X there.
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
}

type FastEntry = (...args: [...Parameters<MomentsEntry>, mean32: number]) => void;

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
 * X larger than this goes in by column blocks of about this size: a block
 * stays in the core's L2 cache between the copy and the kernel's two passes,
 * where a whole copy of a large batch would write X to memory and read it back.
 */
export const BLOCK_BYTES = 512 * 1024;

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

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
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

/** Columns per block when X is too large to copy whole: about BLOCK_BYTES of X. */
function blockColumns(count: number, features: number, elementBytes: number): number {
  const columns = Math.floor(BLOCK_BYTES / (count * elementBytes));
  return Math.min(features, Math.max(8, columns - (columns % 8)));
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
 * @returns False (outputs untouched) when the kernel is unavailable or the
 * batch does not fit in 32-bit WebAssembly memory.
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
): boolean {
  const wasm = loadKernel();
  if (wasm === null) return false;
  const B = count, F = features, M = confounds;
  const es = x.BYTES_PER_ELEMENT;
  const whole = B * F * es <= BLOCK_BYTES;
  const columns = whole ? F : blockColumns(B, F, es);
  const cnOffset = 0;
  const meanOffset = align16(cnOffset + B * M * 8);
  const m2Offset = align16(meanOffset + F * 8);
  const coOffset = align16(m2Offset + F * 8);
  const xOffset = align16(coOffset + F * M * 8);
  if (!ensureMemory(wasm.memory, xOffset + B * columns * es)) return false;

  const buffer = wasm.memory.buffer;
  const cn = new Float64Array(buffer, cnOffset, B * M);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < B; b++) cn[b * M + m] = centredN[m * B + b]!;
  }
  const entry = es === 8 ? wasm.moments_f64 : wasm.moments_f32;
  if (whole) {
    const view = es === 8
      ? new Float64Array(buffer, xOffset, B * F)
      : new Float32Array(buffer, xOffset, B * F);
    view.set(x.length === B * F ? x : x.subarray(0, B * F));
    entry(xOffset, F * es, B, F, M, cnOffset, meanOffset, m2Offset, coOffset);
  } else {
    copyByColumnBlocks(x, B, F, columns, buffer, xOffset, (f0, width) => {
      entry(
        xOffset,
        width * es,
        B,
        width,
        M,
        cnOffset,
        meanOffset + f0 * 8,
        m2Offset + f0 * 8,
        coOffset + f0 * M * 8,
      );
    });
  }
  meanX.set(new Float64Array(buffer, meanOffset, F));
  m2X.set(new Float64Array(buffer, m2Offset, F));
  comoment.set(new Float64Array(buffer, coOffset, F * M));
  return true;
}

/**
 * Copies X a block of columns at a time into a dense `(B, width)` buffer and
 * runs the kernel on each, so a batch of any size needs only a bounded buffer.
 */
function copyByColumnBlocks(
  x: KernelArray,
  B: number,
  F: number,
  columns: number,
  buffer: ArrayBufferLike,
  xOffset: number,
  run: (f0: number, width: number) => void,
): void {
  for (let f0 = 0; f0 < F; f0 += columns) {
    const width = Math.min(columns, F - f0);
    const view = x.BYTES_PER_ELEMENT === 8
      ? new Float64Array(buffer, xOffset, B * width)
      : new Float32Array(buffer, xOffset, B * width);
    for (let b = 0; b < B; b++) view.set(x.subarray(b * F + f0, b * F + f0 + width), b * width);
    run(f0, width);
  }
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
 * @returns False (outputs untouched) when the kernel is unavailable or the
 * batch does not fit in 32-bit WebAssembly memory.
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
): boolean {
  const wasm = loadKernel();
  if (wasm === null) return false;
  const B = count, F = features, M = confounds;
  const whole = B * F * 4 <= BLOCK_BYTES;
  const columns = whole
    ? F
    : Math.max(FAST_STRIP, blockColumns(B, F, 4) - (blockColumns(B, F, 4) % FAST_STRIP));
  const cnOffset = 0;
  const cn32Offset = align16(cnOffset + B * M * 8);
  const mean32Offset = align16(cn32Offset + B * M * 4);
  const meanOffset = align16(mean32Offset + FAST_STRIP * 4);
  const m2Offset = align16(meanOffset + F * 8);
  const coOffset = align16(m2Offset + F * 8);
  const xOffset = align16(coOffset + F * M * 8);
  if (!ensureMemory(wasm.memory, xOffset + B * columns * 4)) return false;

  const buffer = wasm.memory.buffer;
  const cn = new Float64Array(buffer, cnOffset, B * M);
  const cn32 = new Float32Array(buffer, cn32Offset, B * M);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < B; b++) cn[b * M + m] = cn32[b * M + m] = centredN[m * B + b]!;
  }
  new Float64Array(buffer, meanOffset, coOffset + F * M * 8 - meanOffset >> 3).fill(0);
  const run = (xAt: number, width: number, f0: number) => {
    const fast = width - (width % FAST_STRIP);
    const rowBytes = width * 4;
    const mean = meanOffset + f0 * 8, m2 = m2Offset + f0 * 8, co = coOffset + f0 * M * 8;
    if (fast > 0) {
      wasm.moments_fast_f32(xAt, rowBytes, B, fast, M, cn32Offset, mean, m2, co, mean32Offset);
    }
    if (fast < width) {
      wasm.moments_f32(
        xAt + fast * 4,
        rowBytes,
        B,
        width - fast,
        M,
        cnOffset,
        mean + fast * 8,
        m2 + fast * 8,
        co + fast * M * 8,
      );
    }
  };
  if (whole) {
    new Float32Array(buffer, xOffset, B * F).set(x.length === B * F ? x : x.subarray(0, B * F));
    run(xOffset, F, 0);
  } else {
    copyByColumnBlocks(x, B, F, columns, buffer, xOffset, (f0, width) => run(xOffset, width, f0));
  }
  meanX.set(new Float64Array(buffer, meanOffset, F));
  m2X.set(new Float64Array(buffer, m2Offset, F));
  comoment.set(new Float64Array(buffer, coOffset, F * M));
  return true;
}
