/**
 * One batch on the worker pool's shared memory: its layout, the column chunks
 * the threads share, and the loop each thread runs over them. The main thread
 * and the workers run the same code.
 *
 * @module
 */

/** The shared-memory kernel's entry points. */
export interface SharedKernel {
  memory: WebAssembly.Memory;
  moments_f64: (...args: number[]) => void;
  moments_f32: (...args: number[]) => void;
  flag_features: (...args: number[]) => number;
}

/**
 * The counters at the start of the shared memory (int32 indices): the next
 * chunk to claim, how many chunks are copied in, and how many are done.
 */
export const COUNTER = { next: 0, copied: 1, done: 2 } as const;
/** Bytes reserved for the counters. */
export const COUNTER_BYTES = 64;

/** A batch's shares, as the threads read them. */
export interface ChunkTask {
  /** "f64" or "f32": X's element type. */
  element: "f64" | "f32";
  /** Byte offsets of X's copy, the centred confounds `(B, M)` and the outputs. */
  x: number;
  cn: number;
  mean: number;
  m2: number;
  co: number;
  /** Row stride of X's copy, bytes. */
  rowBytes: number;
  /** B, F, M. */
  count: number;
  features: number;
  confounds: number;
  /** Features per chunk (a multiple of 16; the last may be narrower). */
  chunkColumns: number;
  /** Number of chunks. */
  chunks: number;
}

/**
 * Instantiates the shared-memory kernel on `memory`. The pool compiles the
 * module once and sends it to every worker, so the engines share its code
 * (and, in V8, its optimised tier) instead of compiling it per thread.
 *
 * @param module The compiled shared-memory kernel.
 * @param memory The pool's shared memory.
 * @returns The kernel.
 */
export function instantiateShared(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): SharedKernel {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { ...(instance.exports as unknown as Omit<SharedKernel, "memory">), memory };
}

/**
 * Claims chunks until none is left, waiting for each to be copied in, and runs
 * the kernel on them; every chunk writes only its own features' outputs.
 *
 * @param kernel The kernel on the pool's memory.
 * @param task The batch.
 * @param wait Whether this thread may block on `Atomics.wait` for a chunk
 * still being copied (workers); the main thread copies everything first.
 * @returns How many chunks this thread ran.
 */
export function runChunks(kernel: SharedKernel, task: ChunkTask, wait = true): number {
  const counters = new Int32Array(kernel.memory.buffer, 0, COUNTER_BYTES / 4);
  const entry = task.element === "f64" ? kernel.moments_f64 : kernel.moments_f32;
  const es = task.element === "f64" ? 8 : 4;
  const { count: B, features: F, confounds: M, chunkColumns } = task;
  let ran = 0;
  for (;;) {
    const chunk = Atomics.add(counters, COUNTER.next, 1);
    if (chunk >= task.chunks) return ran;
    if (wait) {
      for (let copied = Atomics.load(counters, COUNTER.copied); copied <= chunk;) {
        Atomics.wait(counters, COUNTER.copied, copied);
        copied = Atomics.load(counters, COUNTER.copied);
      }
    }
    const f0 = chunk * chunkColumns;
    const width = Math.min(chunkColumns, F - f0);
    entry(
      task.x + f0 * es,
      task.rowBytes,
      B,
      width,
      M,
      task.cn,
      task.mean + f0 * 8,
      task.m2 + f0 * 8,
      task.co + f0 * M * 8,
    );
    ran++;
    Atomics.add(counters, COUNTER.done, 1);
  }
}
