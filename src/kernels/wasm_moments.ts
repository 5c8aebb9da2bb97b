/**
 * The WebAssembly SIMD batch kernel: loads the embedded module once, copies a
 * batch into its memory and runs the two passes over X there.
 *
 * @module
 */

import { MOMENTS_WASM_BASE64 } from "./moments_wasm.ts";

/** Row-major storage read by the kernels. */
type KernelInput = Float64Array | Float32Array;

interface MomentsExports {
  memory: WebAssembly.Memory;
  moments_f64: MomentsEntry;
  moments_f32: MomentsEntry;
}

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
 * stays in cache between the copy and the kernel's two passes, where a whole
 * copy of a large batch would write X to memory and read it back.
 */
const BLOCK_BYTES = 2 * 2 ** 20;

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
  x: KernelInput,
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
    const view = es === 8 ? new Float64Array(buffer, xOffset, B * F) : new Float32Array(buffer, xOffset, B * F);
    view.set(x);
    entry(xOffset, F * es, B, F, M, cnOffset, meanOffset, m2Offset, coOffset);
  } else {
    copyByColumnBlocks(x, B, F, columns, buffer, xOffset, (f0, width) => {
      entry(xOffset, width * es, B, width, M, cnOffset, meanOffset + f0 * 8, m2Offset + f0 * 8, coOffset + f0 * M * 8);
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
  x: KernelInput,
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
