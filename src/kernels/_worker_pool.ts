/**
 * The worker pool behind the async APIs: threads (`node:worker_threads`, in
 * Deno and Bun) that share one WebAssembly memory with the main thread. A
 * batch is copied into that memory once, whole rows in order; the workers,
 * woken while the copy runs, and the main thread then claim column chunks
 * from a counter until none is left. Each feature's sums run in the same
 * order as on one thread, so the moments are bit for bit those of the
 * single-thread kernel.
 *
 * Why `node:worker_threads` and not the Web `Worker`: an idle Web Worker keeps
 * a Deno process alive (it cannot be unref'd), so a script that used the pool
 * once would never exit; these threads are unref'd between batches.
 *
 * @module
 */

import type { KernelArray } from "../core/batch_moments.ts";
import { type ChunkTask, COUNTER, COUNTER_BYTES, runChunks, type SharedKernel } from "./_chunks.ts";
import { ensureMemory } from "./_load_wasm_kernel.ts";
import { copyColumns, copyConfounds, paddedRowBytes } from "./_wasm_kernel.ts";

/** The shared memory's maximum, in pages (4 GiB; reserved, not committed). */
const MAX_PAGES = 65536;
/** Batches whose layout exceeds this stay on one thread (the memory never shrinks). */
export const POOL_MAX_BYTES = 2 ** 30;

/** The part of `node:worker_threads`' Worker the pool uses. */
interface NodeWorker {
  postMessage(message: unknown): void;
  on(event: "message" | "error" | "exit", listener: (value: never) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number> | void;
}

type Reply = { ok: true; chunks?: number } | { ok: false; message: string };

/** One worker with at most one request in flight. */
class ThreadWorker {
  readonly #worker: NodeWorker;
  #pending: { resolve: (reply: Reply) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;

  constructor(worker: NodeWorker) {
    this.#worker = worker;
    worker.on("message", (reply: Reply) => {
      const pending = this.#pending;
      this.#pending = undefined;
      if (!pending) return;
      if (reply.ok) pending.resolve(reply);
      else pending.reject(new Error(reply.message));
    });
    const fail = (reason: unknown) => {
      this.#failure ??= reason instanceof Error
        ? reason
        : new Error(`the worker exited (code ${String(reason)})`);
      const pending = this.#pending;
      this.#pending = undefined;
      pending?.reject(this.#failure);
    };
    worker.on("error", fail);
    worker.on("exit", fail);
  }

  /** Posts one request; resolves on the reply, rejects if the worker fails or exits first. */
  request(message: unknown): Promise<Reply> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.#worker.postMessage(message);
    });
  }

  ref(): void {
    this.#worker.ref();
  }

  unref(): void {
    this.#worker.unref();
  }

  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function align64(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}

/** Why the pool cannot run here, or undefined when it can (checked without starting threads). */
export function sharedMemoryProblem(): string | undefined {
  if (typeof SharedArrayBuffer !== "function") return "SharedArrayBuffer is unavailable";
  if (typeof Atomics !== "object" || typeof Atomics.wait !== "function") {
    return "Atomics.wait is unavailable";
  }
  sharedWasmMemory ??= canCreateSharedWasmMemory();
  return sharedWasmMemory ? undefined : "shared WebAssembly memory is unavailable";
}

/**
 * Whether this engine creates shared WebAssembly memory, probed once: every parallel call
 * asks, and in JavaScriptCore creating even a one-page shared memory costs 1-2 ms
 * (bench/LIMITS.md), more than waking the workers.
 */
let sharedWasmMemory: boolean | undefined;

function canCreateSharedWasmMemory(): boolean {
  try {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return memory.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/** A started pool: its memory, the main thread's kernel on it, and the workers. */
export class WorkerPool {
  readonly #kernel: SharedKernel;
  readonly #workers: ThreadWorker[];
  #queue: Promise<unknown> = Promise.resolve();
  #broken: string | undefined;

  private constructor(kernel: SharedKernel, workers: ThreadWorker[]) {
    this.#kernel = kernel;
    this.#workers = workers;
  }

  /** The number of worker threads (the main thread works too). */
  get workers(): number {
    return this.#workers.length;
  }

  /** Why the pool stopped working, if it did (then it runs nothing more). */
  get broken(): string | undefined {
    return this.#broken;
  }

  /**
   * Starts `workers` threads on a new shared memory.
   *
   * @param workers How many.
   * @returns The pool.
   * @throws {Error} When threads or the shared memory cannot be created.
   */
  static async start(workers: number): Promise<WorkerPool> {
    const problem = sharedMemoryProblem();
    if (problem) throw new Error(problem);
    const [{ Worker }, { MOMENTS_SHARED_WASM_BASE64 }, { instantiateShared }] = await Promise.all([
      import("node:worker_threads"),
      import("./_moments_shared_wasm_bytes.generated.ts"),
      import("./_chunks.ts"),
    ]);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const module = new WebAssembly.Module(decodeBase64(MOMENTS_SHARED_WASM_BASE64));
    const kernel = instantiateShared(module, memory);
    const threads: ThreadWorker[] = [];
    try {
      for (let i = 0; i < workers; i++) {
        const url = new URL("./_moments_worker.ts", import.meta.url);
        threads.push(new ThreadWorker(new Worker(url) as unknown as NodeWorker));
      }
      await Promise.all(threads.map((worker) => worker.request({ kind: "init", module, memory })));
    } catch (error) {
      await Promise.all(threads.map((worker) => worker.terminate()));
      throw error;
    }
    for (const worker of threads) worker.unref();
    return new WorkerPool(kernel, threads);
  }

  /**
   * Feature moments of a batch on every thread: as `wasmFeatureMoments`.
   *
   * @param x Features, row-major `(B, F)`.
   * @param centredN Confounds minus their means, `(M, B)`.
   * @param B The batch size.
   * @param F Features.
   * @param M Confounds.
   * @param meanX Output.
   * @param m2X Output.
   * @param comoment Output.
   * @param threads At most this many threads, the main thread included.
   * @returns The flagged features, or null (outputs untouched) when the batch
   * does not fit the pool's memory or the pool broke (then it is not used again).
   */
  featureMoments(
    x: KernelArray,
    centredN: Float64Array,
    B: number,
    F: number,
    M: number,
    meanX: Float64Array,
    m2X: Float64Array,
    comoment: Float64Array,
    threads: number,
  ): Promise<Int32Array | null> {
    // One batch at a time: the layout is per batch.
    const run = this.#queue.then(() =>
      this.#run(x, centredN, B, F, M, meanX, m2X, comoment, threads)
    );
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(
    x: KernelArray,
    centredN: Float64Array,
    B: number,
    F: number,
    M: number,
    meanX: Float64Array,
    m2X: Float64Array,
    comoment: Float64Array,
    threads: number,
  ): Promise<Int32Array | null> {
    if (this.#broken) return null;
    const es = x.BYTES_PER_ELEMENT;
    const rowBytes = paddedRowBytes(F, es);
    const cn = COUNTER_BYTES;
    const mean = align64(cn + B * M * 8);
    const m2 = align64(mean + F * 8);
    const co = align64(m2 + F * 8);
    const list = align64(co + F * M * 8);
    const xAt = align64(list + F * 4);
    const end = xAt + B * rowBytes;
    if (end > POOL_MAX_BYTES || !ensureMemory(this.#kernel.memory, end)) return null;

    const workers = this.#workers.slice(0, Math.max(0, threads - 1));
    const parts = workers.length + 1;
    // About 8 chunks per thread: small enough that the workers start early
    // and the shares even out, large enough that a row copy is not tiny.
    const perChunk = Math.max(16, Math.ceil(F / (8 * parts) / 16) * 16);
    const task: ChunkTask = {
      element: es === 8 ? "f64" : "f32",
      x: xAt,
      cn,
      mean,
      m2,
      co,
      rowBytes,
      count: B,
      features: F,
      confounds: M,
      chunkColumns: perChunk,
      chunks: Math.ceil(F / perChunk),
    };
    const buffer = this.#kernel.memory.buffer;
    const counters = new Int32Array(buffer, 0, COUNTER_BYTES / 4);
    for (const index of Object.values(COUNTER)) Atomics.store(counters, index, 0);
    copyConfounds(new Float64Array(buffer, cn, B * M), centredN, B, M);
    for (const worker of workers) worker.ref();
    const replies = workers.map((worker) => worker.request({ kind: "run", task }));
    try {
      // Whole rows, in order: copying column chunks instead (to start the workers
      // sooner) reads X in scattered pieces and measured 5-7× slower than this.
      copyColumns(x, B, F, 0, F, buffer, xAt, rowBytes);
      Atomics.store(counters, COUNTER.copied, task.chunks);
      Atomics.notify(counters, COUNTER.copied);
      runChunks(this.#kernel, task, false);
      await Promise.all(replies);
    } catch (error) {
      // A worker that failed may hold a claimed chunk: this batch goes to one thread, and so does every later one.
      this.#broken = `a worker failed: ${(error as Error)?.message ?? error}`;
      // Release workers still waiting for chunks that will not be copied (what they compute is dropped).
      Atomics.store(counters, COUNTER.next, task.chunks);
      Atomics.store(counters, COUNTER.copied, task.chunks);
      Atomics.notify(counters, COUNTER.copied);
      await Promise.allSettled(replies);
      await this.close();
      return null;
    } finally {
      for (const worker of workers) worker.unref();
    }
    if (Atomics.load(counters, COUNTER.done) !== task.chunks) {
      this.#broken = "a chunk of the batch was not computed";
      return null;
    }
    const flagged = this.#kernel.flag_features(mean, m2, F, B, Number.EPSILON, list);
    meanX.set(new Float64Array(buffer, mean, F));
    m2X.set(new Float64Array(buffer, m2, F));
    comoment.set(new Float64Array(buffer, co, F * M));
    return new Int32Array(buffer, list, flagged).slice();
  }

  /**
   * Stops the threads.
   *
   * @returns When they have stopped.
   */
  async close(): Promise<void> {
    this.#broken ??= "the pool was closed";
    await Promise.all(this.#workers.map((worker) => worker.terminate()));
    this.#workers.length = 0;
  }
}
