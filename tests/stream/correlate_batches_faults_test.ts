/**
 * Fault injection in streams: a source that throws at batch k, a consumer
 * that stops at batch k, a slow consumer, a backend that fails at batch k.
 * After each, the accumulator holds exactly the state after the batches it
 * folded in, survives a snapshot, and a new stream resumed from it over the
 * remaining batches gives the running view of an uninterrupted run.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Batch,
  BatchCorrError,
  BatchCorrStream,
  type BatchResult,
  correlateBatches,
  CorrelationAccumulator,
  type CorrelationBackend,
} from "../../mod.ts";
import { computeBatchMoments } from "../../src/kernels/compute_batch_moments.ts";
import type { PreparedBatch } from "../../src/core/prepare_batch.ts";
import { type DenseBatch, makeBatches, RUNS, SEED } from "../fuzz_support.ts";

const RUNS_HERE = Math.max(5, Math.ceil(RUNS / 4));
const OPTIONS = { tol: "auto" as const, abs: false };

function batchesFor(seed: number, count: number): DenseBatch[] {
  return makeBatches(
    {
      sizes: Array.from({ length: count }, (_, i) => 3 + ((seed + i * 7) % 6)),
      seed,
      scale: 1,
      offsetSteps: 0,
      constantColumns: false,
      signedZeros: false,
    },
    [3],
    2,
  );
}

async function collect(results: AsyncIterable<BatchResult>): Promise<BatchResult[]> {
  const out: BatchResult[] = [];
  for await (const result of results) out.push(result);
  return out;
}

/** The state after the first k batches, through the same code path. */
async function stateAfter(
  batches: DenseBatch[],
  k: number,
  backend?: CorrelationBackend,
): Promise<Uint8Array> {
  const accumulator = new CorrelationAccumulator();
  await collect(
    correlateBatches(batches.slice(0, k), {
      ...OPTIONS,
      accumulator,
      ...(backend ? { backend } : {}),
    }),
  );
  return accumulator.toBytes();
}

/** Snapshots (bytes and JSON), restores, resumes over the rest and compares with the uninterrupted run. */
async function assertResumes(
  accumulator: CorrelationAccumulator,
  batches: DenseBatch[],
  k: number,
  backend?: CorrelationBackend,
): Promise<void> {
  assert.deepEqual(
    accumulator.toBytes(),
    await stateAfter(batches, k, backend),
    `state is not the state after batch ${k - 1}`,
  );
  const straight = await collect(
    correlateBatches(batches, { ...OPTIONS, ...(backend ? { backend } : {}) }),
  );
  for (
    const restored of [
      CorrelationAccumulator.fromBytes(accumulator.toBytes()),
      CorrelationAccumulator.fromJSON(JSON.stringify(accumulator)),
    ]
  ) {
    const resumed = await collect(
      correlateBatches(batches.slice(k), {
        ...OPTIONS,
        accumulator: restored,
        ...(backend ? { backend } : {}),
      }),
    );
    assert.equal(resumed.length, batches.length - k);
    resumed.forEach((result, i) => {
      assert.deepEqual(result.running, straight[k + i]!.running, `running view of batch ${k + i}`);
      assert.equal(result.count, straight[k + i]!.count);
    });
  }
}

/** A backend that computes moments as the kernel does, and fails as told at batch k. */
function faultyBackend(
  failAt: number,
  how: "throw" | "malformed" | "nonFinite",
): CorrelationBackend & { calls: number } {
  return {
    provider: "fake",
    calls: 0,
    computeMoments(batch: PreparedBatch) {
      const call = this.calls++;
      const moments = computeBatchMoments(
        batch.x,
        batch.n,
        batch.count,
        batch.features,
        batch.confounds,
      );
      if (call !== failAt) return Promise.resolve(moments);
      if (how === "throw") return Promise.reject(new Error("device lost"));
      if (how === "malformed") return Promise.resolve({ ...moments, count: moments.count + 1 });
      moments.m2X.fill(Number.NaN);
      return Promise.resolve(moments);
    },
    dispose: () => Promise.resolve(),
  };
}

const faultArbitrary = fc.record({
  seed: fc.nat(1000),
  total: fc.integer({ min: 2, max: 7 }),
  at: fc.nat(),
});

describe("stream faults", () => {
  test("a source that throws at batch k: the error passes through, the state is after batch k−1, and it resumes", async () => {
    await fc.assert(
      fc.asyncProperty(faultArbitrary, fc.boolean(), async ({ seed, total, at }, readable) => {
        const batches = batchesFor(seed, total);
        const k = at % total;
        const boom = new Error(`source failed at ${k}`);
        async function* failing(): AsyncGenerator<Batch> {
          for (let i = 0; i < k; i++) yield batches[i]!;
          throw boom;
        }
        const source = readable
          ? (() => {
            // Errors on the pull after k batches (an error() in start would drop the queued batches, as Web Streams specify).
            let i = 0;
            return new ReadableStream<Batch>({
              pull(controller) {
                if (i < k) controller.enqueue(batches[i++]!);
                else controller.error(boom);
              },
            }, { highWaterMark: 0 });
          })()
          : failing();
        const accumulator = new CorrelationAccumulator();
        const seen: BatchResult[] = [];
        await assert.rejects(async () => {
          for await (const result of correlateBatches(source, { ...OPTIONS, accumulator })) {
            seen.push(result);
          }
        }, (error) => error === boom);
        assert.equal(seen.length, k);
        await assertResumes(accumulator, batches, k);
      }),
      { numRuns: RUNS_HERE, seed: SEED },
    );
  });

  test("a consumer that stops at batch k: the source is released, the state is after batch k−1, and it resumes", async () => {
    await fc.assert(
      fc.asyncProperty(faultArbitrary, async ({ seed, total, at }) => {
        const batches = batchesFor(seed, total);
        const k = 1 + (at % total);
        let released = false;
        const source = {
          [Symbol.iterator]() {
            let i = 0;
            return {
              next: () =>
                i < batches.length
                  ? { done: false as const, value: batches[i++]! }
                  : { done: true as const, value: undefined },
              return: () => {
                released = true;
                return { done: true as const, value: undefined };
              },
            };
          },
        };
        const accumulator = new CorrelationAccumulator();
        let read = 0;
        for await (const _ of correlateBatches(source, { ...OPTIONS, accumulator })) {
          if (++read === k) break;
        }
        assert.equal(released, true);
        await assertResumes(accumulator, batches, k);
      }),
      { numRuns: RUNS_HERE, seed: SEED },
    );
  });

  test("cancelling a BatchCorrStream's readable at batch k leaves a state on a batch boundary within highWaterMark + 1 of k", async () => {
    await fc.assert(
      fc.asyncProperty(
        faultArbitrary,
        fc.integer({ min: 0, max: 3 }),
        async ({ seed, total, at }, highWaterMark) => {
          const batches = batchesFor(seed, total + 4);
          const k = 1 + (at % total);
          const accumulator = new CorrelationAccumulator();
          const reader = ReadableStream.from(batches).pipeThrough(
            new BatchCorrStream({ ...OPTIONS, accumulator, highWaterMark }),
          ).getReader();
          for (let i = 0; i < k; i++) assert.equal((await reader.read()).value!.index, i);
          await reader.cancel();
          // The stage may have folded in the batches it queued ahead; find which prefix the state is.
          let folded = 0, samples = 0;
          while (samples < accumulator.count) samples += batches[folded++]!.x.shape[0]!;
          assert.equal(samples, accumulator.count, "the state ends between batches");
          assert.ok(
            folded >= k && folded <= k + highWaterMark + 1,
            `folded ${folded} for k ${k}, highWaterMark ${highWaterMark}`,
          );
          await assertResumes(accumulator, batches, folded);
        },
      ),
      { numRuns: RUNS_HERE, seed: SEED },
    );
  });

  test("a slow consumer: the source is pulled at most highWaterMark + 3 batches ahead of what was read", async () => {
    for (const highWaterMark of [0, 1, 4]) {
      let pulled = 0;
      const batches = batchesFor(highWaterMark, 40);
      const source = new ReadableStream<Batch>({
        pull(controller) {
          const batch = batches[pulled++];
          if (batch) controller.enqueue(batch);
          else controller.close();
        },
      }, { highWaterMark: 0 });
      const accumulator = new CorrelationAccumulator();
      const reader = source.pipeThrough(
        new BatchCorrStream({ ...OPTIONS, accumulator, highWaterMark }),
      ).getReader();
      let worst = 0;
      for (let read = 1; read <= 12; read++) {
        await reader.read();
        for (let tick = 0; tick < 10; tick++) {
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
        worst = Math.max(worst, pulled - read);
      }
      assert.ok(
        worst <= highWaterMark + 3,
        `highWaterMark ${highWaterMark}: source ran ${worst} batches ahead`,
      );
      await reader.cancel();
    }
    // The generator API pulls only on demand.
    let pulled = 0;
    const batches = batchesFor(7, 30);
    const counting = (function* () {
      for (const batch of batches) {
        pulled++;
        yield batch;
      }
    })();
    const iterator = correlateBatches(counting, OPTIONS);
    for (let read = 1; read <= 5; read++) {
      await iterator.next();
      await new Promise((resolve) => setTimeout(resolve, 0));
      assert.equal(pulled, read);
    }
    await iterator.return();
  });

  for (const how of ["throw", "malformed", "nonFinite"] as const) {
    test(`a backend that fails (${how}) at batch k ends the stream with backend_failed context; the state is after batch k−1 and resumes`, async () => {
      await fc.assert(
        fc.asyncProperty(
          faultArbitrary,
          fc.constantFrom<"error" | "skip">("error", "skip"),
          async ({ seed, total, at }, onInvalid) => {
            const batches = batchesFor(seed, total);
            const k = at % total;
            const accumulator = new CorrelationAccumulator();
            const seen: BatchResult[] = [];
            await assert.rejects(async () => {
              for await (
                const result of correlateBatches(batches, {
                  ...OPTIONS,
                  accumulator,
                  backend: faultyBackend(k, how),
                  onInvalid,
                })
              ) seen.push(result);
            }, (error) => {
              assert.ok(
                error instanceof BatchCorrError && error.code === "stream_batch_failed",
                String(error),
              );
              assert.equal(error.details.index, k);
              if (how !== "nonFinite") assert.equal(error.details.phase, "backend");
              assert.match(
                error.message,
                how === "throw"
                  ? /device lost/
                  : how === "malformed"
                  ? /must describe the batch/
                  : /finite|float64 range/,
              );
              return true;
            }).catch((error) => {
              // A non-finite sum of squares from a backend is an input-phase failure, which "skip" may skip.
              if (!(how === "nonFinite" && onInvalid === "skip")) throw error;
            });
            if (how === "nonFinite" && onInvalid === "skip") return;
            assert.equal(seen.length, k);
            await assertResumes(accumulator, batches, k, faultyBackend(-1, how));
          },
        ),
        { numRuns: RUNS_HERE, seed: SEED },
      );
    });
  }
});
