/**
 * A thread of the worker pool: instantiates the shared-memory kernel on the
 * pool's memory, then runs its share of each batch. Shares are column chunks,
 * claimed from a counter in shared memory as the main thread copies them in,
 * so fast threads take more and no thread waits for a slow one's share.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";
import { type ChunkTask, instantiateShared, runChunks, type SharedKernel } from "./_chunks.ts";

let kernel: SharedKernel | undefined;

/** Messages from the pool. */
type Request =
  | { kind: "init"; module: WebAssembly.Module; memory: WebAssembly.Memory }
  | { kind: "run"; task: ChunkTask };

parentPort?.on("message", (request: Request) => {
  try {
    if (request.kind === "init") {
      kernel = instantiateShared(request.module, request.memory);
      parentPort!.postMessage({ ok: true });
      return;
    }
    if (!kernel) throw new Error("the worker was not initialised");
    const chunks = runChunks(kernel, request.task);
    parentPort!.postMessage({ ok: true, chunks });
  } catch (error) {
    parentPort!.postMessage({ ok: false, message: String((error as Error)?.message ?? error) });
  }
});
