/**
 * The embedded WebAssembly SIMD module: decoded and instantiated once, with
 * the growth of its memory kept below wasm32's 4 GiB.
 *
 * @module
 */

import { MOMENTS_WASM_BASE64 } from "./_moments_wasm_bytes.generated.ts";

export interface MomentsExports {
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
export function loadKernel(): MomentsExports | null {
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

/** Grows a module memory to hold `bytes`; false when it cannot (the kernel then falls back). */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): boolean {
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
