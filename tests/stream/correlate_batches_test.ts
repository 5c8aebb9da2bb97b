import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  autoTol,
  type Batch,
  batchCorr,
  BatchCorrelationLoss,
  BatchCorrError,
  BatchCorrStream,
  batchCorrStream,
  type BatchResult,
  correlateBatches,
  type CorrelateBatchesOptions,
  CorrelationAccumulator,
  type CorrelationBackend,
} from "../../mod.ts";
import { autoTolUnchecked } from "../../src/core/auto_tol.ts";
import { computeBatchMoments } from "../../src/kernels/compute_batch_moments.ts";
import { concat, type DenseBatch, maxAbsDiff } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";

function randomBatch(
  random: () => number,
  B: number,
  featureShape: number[],
  M: number,
  drift = 0,
): DenseBatch {
  const F = featureShape.reduce((a, b) => a * b, 1);
  const n = new Float64Array(M * B).map(() => random() * 2 - 1);
  const x = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) {
      x[b * F + f] = random() + drift + ((f % 3) * 0.4 + drift) * n[(f % M) * B + b]!;
    }
  }
  return { x: { data: x, shape: [B, ...featureShape] }, n: { data: n, shape: [M, B] } };
}

function randomBatches(
  seed: number,
  k: number,
  featureShape: number[],
  M: number,
  drifting = false,
): DenseBatch[] {
  const random = mulberry32(seed);
  return Array.from(
    { length: k },
    (_, i) =>
      randomBatch(random, 3 + Math.floor(random() * 25), featureShape, M, drifting ? i * 0.15 : 0),
  );
}

async function collect(iterable: AsyncIterable<BatchResult>): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  for await (const result of iterable) results.push(result);
  return results;
}

/**
 * Weighted Pearson correlations written out plainly: every sample of batch i
 * carries weight w(i); features are (B, F) with natural order.
 */
function weightedReference(batches: DenseBatch[], weight: (i: number) => number) {
  const F = batches[0]!.x.shape[1]!, M = batches[0]!.n.shape[0]!;
  const samples: { x: number[]; n: number[]; w: number }[] = [];
  batches.forEach((batch, i) => {
    const B = batch.x.shape[0]!;
    for (let b = 0; b < B; b++) {
      samples.push({
        x: Array.from({ length: F }, (_, f) => batch.x.data[b * F + f]!),
        n: Array.from({ length: M }, (_, m) => batch.n.data[m * B + b]!),
        w: weight(i),
      });
    }
  });
  const used = samples.filter((s) => s.w > 0);
  const sumW = used.reduce((t, s) => t + s.w, 0);
  const sumW2 = used.reduce((t, s) => t + s.w * s.w, 0);
  const mean = (get: (s: (typeof used)[number]) => number) =>
    used.reduce((t, s) => t + s.w * get(s), 0) / sumW;
  const r = new Float64Array(F * M);
  for (let f = 0; f < F; f++) {
    for (let m = 0; m < M; m++) {
      const mx = mean((s) => s.x[f]!), mn = mean((s) => s.n[m]!);
      let cxy = 0, cxx = 0, cyy = 0;
      for (const s of used) {
        cxy += s.w * (s.x[f]! - mx) * (s.n[m]! - mn);
        cxx += s.w * (s.x[f]! - mx) ** 2;
        cyy += s.w * (s.n[m]! - mn) ** 2;
      }
      r[f * M + m] = cxy / Math.sqrt(cxx * cyy);
    }
  }
  return { r, effectiveCount: (sumW * sumW) / sumW2 };
}

function threshold(r: Float64Array, tol: number, abs: boolean): Float64Array {
  return r.map((v) => (abs ? 1 : Math.sign(v)) * Math.max(Math.abs(v) - tol, 0));
}

/** A source that records whether it was released. */
function recordingSource(batches: Batch[]) {
  const record = { closed: false, pulled: 0 };
  const iterable = {
    [Symbol.asyncIterator]() {
      let i = 0;
      return {
        next: () => {
          record.pulled++;
          return Promise.resolve(
            i < batches.length
              ? { done: false as const, value: batches[i++]! }
              : { done: true as const, value: undefined },
          );
        },
        return: () => {
          record.closed = true;
          return Promise.resolve({ done: true as const, value: undefined });
        },
      };
    },
  };
  return { iterable, record };
}

function recordingReadable(batches: Batch[]) {
  const record = { cancelled: false, reason: undefined as unknown, pulled: 0 };
  let i = 0;
  const stream = new ReadableStream<Batch>({
    pull(controller) {
      record.pulled++;
      if (i < batches.length) controller.enqueue(batches[i++]!);
      else controller.close();
    },
    cancel(reason) {
      record.cancelled = true;
      record.reason = reason;
    },
  }, { highWaterMark: 0 });
  return { stream, record };
}

async function viaTransform(
  batches: Batch[],
  options: CorrelateBatchesOptions,
): Promise<BatchResult[]> {
  return await collect(ReadableStream.from(batches).pipeThrough(new BatchCorrStream(options)));
}

describe("correlateBatches and BatchCorrStream", () => {
  test("running correlations equal batchCorr of the concatenation to 1e-10, per batch exactly batchCorr alone", async () => {
    for (const [featureShape, M] of [[[6], 1], [[2, 3, 2], 2]] as const) {
      const batches = randomBatches(7, 8, [...featureShape], M);
      const options = {
        tol: "auto" as const,
        abs: false,
        nu: 0.7,
        scalarisation: "meansq" as const,
      };
      const loss = new BatchCorrelationLoss(options);
      const results = await collect(correlateBatches(batches, options));
      assert.equal(results.length, batches.length);
      results.forEach((result, i) => {
        const correlationOptions = { tol: options.tol, abs: options.abs };
        const alone = batchCorr(batches[i]!.x, batches[i]!.n, correlationOptions);
        assert.equal(result.index, i);
        assert.equal(result.batchSize, batches[i]!.x.shape[0]);
        assert.equal(result.tol, alone.tol);
        assert.ok(maxAbsDiff(result.correlations!.data, alone.data) <= 1e-12);
        assert.deepEqual(result.correlations!.shape, alone.shape);
        const expectedLoss = loss.evaluate(batches[i]!.x, batches[i]!.n);
        assert.ok(Math.abs(result.loss - expectedLoss) <= 1e-12 * Math.abs(expectedLoss));
        const whole = concat(batches.slice(0, i + 1));
        const running = batchCorr(whole.x, whole.n, correlationOptions);
        assert.equal(result.count, whole.x.shape[0]);
        assert.equal(result.running.tol, autoTol(whole.x.shape[0]!));
        assert.ok(maxAbsDiff(result.running.correlations!.data, running.data) <= 1e-10);
        const runningLoss = loss.evaluate(whole.x, whole.n);
        assert.ok(Math.abs(result.running.loss - runningLoss) <= 1e-10);
        assert.equal(result.window, undefined);
      });
      assert.deepEqual(await viaTransform(batches, options), results);
    }
  });

  test("the window view is the last W batches, as a direct computation on them", async () => {
    const batches = randomBatches(12, 9, [4], 2, true);
    for (const W of [1, 3, 4]) {
      const options = { window: W, tol: "auto" as const, abs: false };
      const results = await collect(correlateBatches(batches, options));
      results.forEach((result, i) => {
        const reference = weightedReference(batches, (j) => (j <= i && j > i - W ? 1 : 0));
        const window = result.window!;
        assert.equal(window.effectiveCount, reference.effectiveCount);
        assert.ok(Math.abs(window.tol - autoTol(reference.effectiveCount)) <= 1e-15);
        const expected = threshold(reference.r, window.tol, false);
        assert.ok(maxAbsDiff(window.correlations!.data, expected) <= 1e-10, `W ${W} batch ${i}`);
        const meanLoss = expected.reduce((t, v) => t + v, 0) / expected.length;
        assert.ok(Math.abs(window.loss - meanLoss) <= 1e-10);
      });
      assert.deepEqual(await viaTransform(batches, options), results);
    }
  });

  test("the decay view is the weighted correlation with weights λ^age and tol from the effective sample size", async () => {
    const batches = randomBatches(13, 10, [3], 2, true);
    for (const decay of [0.5, 0.9, 1]) {
      const options = { decay, tol: "auto" as const, tolSig: 0.05 };
      const results = await collect(correlateBatches(batches, options));
      results.forEach((result, i) => {
        const reference = weightedReference(batches, (j) => (j <= i ? decay ** (i - j) : 0));
        const window = result.window!;
        assert.ok(
          Math.abs(window.effectiveCount - reference.effectiveCount) <=
            1e-10 * reference.effectiveCount,
        );
        // The effective sample size is not an integer: the t quantile with real degrees of freedom.
        assert.ok(Math.abs(window.tol - autoTolUnchecked(reference.effectiveCount, 0.05)) <= 1e-12);
        assert.ok(
          maxAbsDiff(window.correlations!.data, threshold(reference.r, window.tol, true)) <= 1e-10,
          `λ ${decay} batch ${i}`,
        );
      });
      if (decay === 1) {
        results.forEach((result) =>
          assert.ok(
            maxAbsDiff(result.window!.correlations!.data, result.running.correlations!.data) <=
              1e-12,
          )
        );
      }
    }
  });

  test('output "losses" gives the same numbers without tensors, reusing one buffer', async () => {
    const batches = randomBatches(14, 6, [3, 2, 2], 2);
    const seen = new Set<Float64Array>();
    const scalarisation = (values: Float64Array) => {
      seen.add(values);
      return values.reduce((t, v) => t + v * v, 0);
    };
    const full = await collect(correlateBatches(batches, { window: 2, scalarisation }));
    seen.clear();
    const lean = await collect(
      correlateBatches(batches, { window: 2, scalarisation, output: "losses" }),
    );
    assert.equal(seen.size, 1);
    lean.forEach((result, i) => {
      assert.equal(result.correlations, undefined);
      assert.equal(result.running.correlations, undefined);
      assert.equal(result.window!.correlations, undefined);
      assert.equal(result.loss, full[i]!.loss);
      assert.equal(result.running.loss, full[i]!.running.loss);
      assert.equal(result.window!.loss, full[i]!.window!.loss);
    });
  });

  test("a backend's moments give the same results as the TypeScript kernel", async () => {
    const batches = randomBatches(15, 5, [2, 3], 2);
    let calls = 0;
    const backend: CorrelationBackend = {
      provider: "test",
      computeMoments(batch) {
        calls++;
        return Promise.resolve(
          computeBatchMoments(
            Float64Array.from(batch.x),
            Float64Array.from(batch.n),
            batch.count,
            batch.features,
            batch.confounds,
          ),
        );
      },
      async dispose() {},
    };
    const viaBackend = await collect(correlateBatches(batches, { backend, decay: 0.8 }));
    const direct = await collect(correlateBatches(batches, { decay: 0.8 }));
    assert.equal(calls, batches.length);
    viaBackend.forEach((result, i) => {
      assert.deepEqual(result.correlations, direct[i]!.correlations);
      assert.ok(
        maxAbsDiff(result.running.correlations!.data, direct[i]!.running.correlations!.data) <=
          1e-12,
      );
      assert.ok(
        maxAbsDiff(result.window!.correlations!.data, direct[i]!.window!.correlations!.data) <=
          1e-12,
      );
    });
  });

  test("a failing backend ends the stream even when invalid batches are skipped", async () => {
    const backend: CorrelationBackend = {
      provider: "broken",
      computeMoments: () => Promise.reject(new Error("device lost")),
      async dispose() {},
    };
    const accumulator = new CorrelationAccumulator();
    await assert.rejects(
      collect(
        correlateBatches(randomBatches(1, 2, [2], 1), { backend, onInvalid: "skip", accumulator }),
      ),
      (e) =>
        e instanceof BatchCorrError && e.code === "stream_batch_failed" && e.details.index === 0 &&
        e.details.phase === "backend" &&
        /device lost/.test(e.message) && (e.cause as Error).message === "device lost",
    );
    assert.equal(accumulator.count, 0);
  });

  test("a backend's moments beyond the Cauchy–Schwarz bound (a comoment beside zero variance) fail the batch, the state untouched", async () => {
    const lying = (change: (m: ReturnType<typeof computeBatchMoments>) => void) => ({
      provider: "lying",
      computeMoments(batch: Parameters<CorrelationBackend["computeMoments"]>[0]) {
        const m = computeBatchMoments(
          Float64Array.from(batch.x),
          Float64Array.from(batch.n),
          batch.count,
          batch.features,
          batch.confounds,
        );
        change(m);
        return Promise.resolve(m);
      },
      async dispose() {},
    });
    const changes = [
      (m: { m2X: Float64Array; comoment: Float64Array }) => {
        m.m2X[0] = 0;
        m.comoment[0] = 1e6;
      },
      (m: { comoment: Float64Array; m2X: Float64Array; m2N: Float64Array }) => {
        m.comoment[1] = 5 * Math.sqrt(m.m2X[1]! * m.m2N[0]!);
      },
      (m: { comoment: Float64Array }) => {
        m.comoment[0] = Number.NaN;
      },
    ];
    for (const change of changes) {
      const accumulator = new CorrelationAccumulator();
      await assert.rejects(
        collect(
          correlateBatches(randomBatches(2, 6, [2], 1), { backend: lying(change), accumulator }),
        ),
        (e) =>
          e instanceof BatchCorrError && e.code === "stream_batch_failed" &&
          e.details.phase === "backend" && (e.cause as BatchCorrError).code === "backend_failed" &&
          /backend "lying" as they must satisfy \|comoment\| ≤ √m2X·√m2N/.test(e.message),
      );
      assert.equal(accumulator.count, 0);
    }
  });

  test("a backend's moments are read once, never from Object.prototype", async () => {
    const proto = Object.prototype as Record<string, unknown>;
    const batches = randomBatches(3, 4, [2], 1);
    const backend: CorrelationBackend = {
      provider: "partial",
      computeMoments(batch) {
        const { comoment: _dropped, ...rest } = computeBatchMoments(
          Float64Array.from(batch.x),
          Float64Array.from(batch.n),
          batch.count,
          batch.features,
          batch.confounds,
        );
        return Promise.resolve(rest as never);
      },
      async dispose() {},
    };
    proto.comoment = new Float64Array(2);
    try {
      await assert.rejects(
        collect(correlateBatches(batches, { backend })),
        (e) => e instanceof BatchCorrError && /must describe the batch/.test(e.message),
      );
    } finally {
      delete proto.comoment;
    }
  });

  test("resuming from a restored snapshot continues the running view exactly", async () => {
    const batches = randomBatches(16, 8, [5], 1);
    const straight = await collect(correlateBatches(batches, { tol: "auto" }));
    const accumulator = new CorrelationAccumulator();
    await collect(correlateBatches(batches.slice(0, 5), { accumulator }));
    const restored = CorrelationAccumulator.fromBytes(accumulator.toBytes());
    const resumed = await collect(
      correlateBatches(batches.slice(5), { tol: "auto", accumulator: restored }),
    );
    assert.deepEqual(resumed.at(-1)!.running, straight.at(-1)!.running);
    assert.equal(resumed.at(-1)!.count, straight.at(-1)!.count);
    assert.equal(resumed[0]!.index, 0);
  });
});

describe("invalid batches", () => {
  const good = randomBatches(20, 4, [3], 2);
  const withNaN = structuredClone(good[0]!);
  withNaN.x.data[4] = Number.NaN;
  const withInfinity = structuredClone(good[0]!);
  withInfinity.n.data[withInfinity.n.data.length - 1] = Number.POSITIVE_INFINITY;
  const B = good[0]!.x.shape[0]!;
  const cases: [string, unknown, typeof TypeError | typeof RangeError, RegExp][] = [
    [
      "another feature shape",
      randomBatches(21, 1, [4], 2)[0],
      TypeError,
      /feature shape of x .* must be \[3\].*current value is \[4\]/,
    ],
    [
      "another number of confounds",
      randomBatches(22, 1, [3], 1)[0],
      TypeError,
      /number of confounds in n must be 2/,
    ],
    ["NaN in x", withNaN, RangeError, /every element of x must be finite.*NaN at index \[1, 1\]/],
    [
      "Infinity in n",
      withInfinity,
      RangeError,
      /every element of n must be finite.*Infinity at index \[1, \d+\]/,
    ],
    [
      "a batch too small for tol auto",
      { x: [[1, 2, 3], [2, 1, 0]], n: [[1, 2], [3, 1]] },
      RangeError,
      /at least 3/,
    ],
    [
      "n given as (B, M)",
      { x: good[0]!.x, n: { data: good[0]!.n.data, shape: [B, 2] } },
      TypeError,
      /looks like \(B, M\)/,
    ],
    ["not a batch", 42, TypeError, /the batch must be an object \{ x, n \}/],
    [
      "an empty batch",
      {
        x: { data: new Float64Array(0), shape: [0, 3] },
        n: { data: new Float64Array(0), shape: [2, 0] },
      },
      RangeError,
      /at least 1/,
    ],
  ];

  for (const [name, bad, kind, pattern] of cases) {
    test(`${name}: the stream errors with the index and the state before it stays intact`, async () => {
      const accumulator = new CorrelationAccumulator();
      const batches = [good[0], good[1], bad, good[2]] as Batch[];
      const seen: BatchResult[] = [];
      let snapshotBefore: Uint8Array | undefined;
      await assert.rejects(
        (async () => {
          for await (const result of correlateBatches(batches, { accumulator, tol: "auto" })) {
            seen.push(result);
            snapshotBefore = accumulator.toBytes();
          }
        })(),
        (e) =>
          e instanceof BatchCorrError && e.code === "stream_batch_failed" &&
          e.details.index === 2 &&
          e.cause instanceof kind && pattern.test(e.message) &&
          /batch 2 of the stream/.test(e.message),
      );
      assert.equal(seen.length, 2);
      assert.deepEqual(accumulator.toBytes(), snapshotBefore);
      const whole = concat(good.slice(0, 2));
      assert.ok(
        maxAbsDiff(
          accumulator.correlations({ tol: "auto" }).data,
          batchCorr(whole.x, whole.n, { tol: "auto" }).data,
        ) <= 1e-10,
      );

      const transformed = ReadableStream.from(batches).pipeThrough(
        new BatchCorrStream({ tol: "auto" }),
      ).getReader();
      await transformed.read();
      await transformed.read();
      await assert.rejects(
        transformed.read(),
        (e) => e instanceof BatchCorrError && e.details.index === 2 && e.cause instanceof kind,
      );
    });

    test(`${name}: with onInvalid "skip" it is reported and the stream goes on`, async () => {
      const batches = [good[0], good[1], bad, good[2]] as Batch[];
      for (
        const results of [
          await collect(correlateBatches(batches, { onInvalid: "skip", tol: "auto", window: 2 })),
          await viaTransform(batches, { onInvalid: "skip", tol: "auto", window: 2 }),
        ]
      ) {
        assert.equal(results.length, 4);
        const skipped = results[2]!;
        assert.ok(pattern.test(skipped.skipped!.reason));
        assert.ok(skipped.skipped!.error instanceof kind);
        assert.ok(Number.isNaN(skipped.loss) && Number.isNaN(skipped.tol));
        assert.equal(skipped.correlations, undefined);
        assert.equal(skipped.count, results[1]!.count);
        assert.equal(skipped.running, results[1]!.running);
        assert.equal(skipped.window, results[1]!.window);
        const whole = concat([good[0]!, good[1]!, good[2]!]);
        assert.equal(results[3]!.count, whole.x.shape[0]);
        assert.ok(
          maxAbsDiff(
            results[3]!.running.correlations!.data,
            batchCorr(whole.x, whole.n, { tol: "auto" }).data,
          ) <= 1e-10,
        );
        const window = concat([good[1]!, good[2]!]);
        assert.equal(results[3]!.window!.effectiveCount, window.x.shape[0]);
      }
    });
  }

  test("a skipped first batch reports NaN views", async () => {
    const [result] = await collect(
      correlateBatches([{ x: [[1], [Number.NaN], [2]], n: [1, 2, 3] }], {
        onInvalid: "skip",
        decay: 0.5,
      }),
    );
    assert.ok(result!.skipped);
    assert.ok(Number.isNaN(result!.running.loss));
    assert.equal(result!.window!.effectiveCount, 0);
    assert.equal(result!.count, 0);
  });

  test("a batch that fails after staging does not fix the shape of an empty accumulator", async () => {
    const accumulator = new CorrelationAccumulator();
    const failing = () => {
      throw new Error("no");
    };
    await assert.rejects(
      collect(
        correlateBatches(randomBatches(40, 1, [5], 1), { accumulator, scalarisation: failing }),
      ),
      BatchCorrError,
    );
    assert.equal(accumulator.featureShape, undefined);
    assert.equal(accumulator.count, 0);
    const other = randomBatches(41, 2, [2, 2], 3);
    const results = await collect(correlateBatches(other, { accumulator }));
    assert.deepEqual(accumulator.featureShape, [2, 2]);
    const whole = concat(other);
    assert.ok(
      maxAbsDiff(results[1]!.running.correlations!.data, batchCorr(whole.x, whole.n).data) <= 1e-10,
    );
  });

  test("an error thrown by a custom scalarisation leaves the running state untouched", async () => {
    const accumulator = new CorrelationAccumulator();
    let calls = 0;
    const scalarisation = (values: Float64Array) => {
      if (++calls === 5) throw new Error("boom");
      return values[0]!;
    };
    await assert.rejects(
      collect(correlateBatches(good, { accumulator, scalarisation, onInvalid: "skip" })),
      (e) =>
        e instanceof BatchCorrError && e.details.index === 2 && e.details.phase === "loss" &&
        /boom/.test(e.message),
    );
    assert.equal(accumulator.count, good[0]!.x.shape[0]! + good[1]!.x.shape[0]!);
  });
});

describe("custom scalarisations", () => {
  const batches = randomBatches(21, 4, [3], 2);

  test("one that sorts its input in place (a median) leaves the emitted and running correlations in hypercoil's order", async () => {
    const median = (values: Float64Array): number => {
      values.sort();
      return values[values.length >> 1]!;
    };
    const reference = await collect(correlateBatches(batches, { window: 2 }));
    for (const output of ["full", "losses"] as const) {
      const sorted = await collect(
        correlateBatches(batches, { scalarisation: median, window: 2, output }),
      );
      sorted.forEach((result, i) => {
        const expected = reference[i]!;
        if (output === "full") {
          assert.deepEqual(result.correlations, expected.correlations);
          assert.deepEqual(result.running.correlations, expected.running.correlations);
          assert.deepEqual(result.window!.correlations, expected.window!.correlations);
        }
        const values = Float64Array.from(expected.correlations!.data).sort();
        assert.equal(result.loss, values[values.length >> 1]);
      });
    }
  });

  test("a result that is not a finite number fails the batch with a TypeError or RangeError naming it", async () => {
    const results: [unknown, ErrorConstructor][] = [
      ["0.5", TypeError],
      [undefined, TypeError],
      [{}, TypeError],
      [10n, TypeError],
      [Number.NaN, RangeError],
      [Infinity, RangeError],
    ];
    for (const [value, kind] of results) {
      const accumulator = new CorrelationAccumulator();
      const scalarisation = () => value as number;
      await assert.rejects(
        collect(correlateBatches(batches, { scalarisation, accumulator })),
        (e) =>
          e instanceof BatchCorrError && e.details.phase === "loss" && e.cause instanceof kind &&
          /its result must be a finite number/.test(e.message),
        String(value),
      );
      assert.equal(accumulator.count, 0);
    }
  });

  test("one that throws something String() cannot convert fails the batch with a stream_batch_failed describing it, the thrown value as its cause", async () => {
    const thrown = Object.create(null);
    const scalarisation = () => {
      throw thrown;
    };
    await assert.rejects(
      collect(correlateBatches(batches, { scalarisation })),
      (e) =>
        e instanceof BatchCorrError && e.cause === thrown && e.details.phase === "loss" &&
        e.message ===
          "Cannot correlate batch 0 of the stream as the scalarisation failed: an object",
    );
  });

  test('NaN is a valid result where zeroVariance is "nan"', async () => {
    const results = await collect(
      correlateBatches(batches, { scalarisation: () => Number.NaN, zeroVariance: "nan" }),
    );
    assert.ok(results.every((r) => Number.isNaN(r.loss)));
  });
});

describe("releasing the source", () => {
  const batches = randomBatches(30, 5, [2], 1);

  test("breaking out of for await calls return() on the source iterator", async () => {
    const { iterable, record } = recordingSource(batches);
    for await (const result of correlateBatches(iterable)) {
      if (result.index === 1) break;
    }
    assert.equal(record.closed, true);
    assert.equal(record.pulled, 2);
  });

  test("a sync iterable is released too, and an exhausted source is not", async () => {
    let closed = 0;
    const iterable = {
      [Symbol.iterator]() {
        const inner = batches[Symbol.iterator]();
        return {
          next: () => inner.next(),
          return: () => (closed++, { done: true as const, value: undefined }),
        };
      },
    };
    const generator = correlateBatches(iterable);
    await generator.next();
    await generator.return();
    assert.equal(closed, 1);
    await collect(correlateBatches(iterable));
    assert.equal(closed, 1);
  });

  test("a failing batch releases the source", async () => {
    const { iterable, record } = recordingSource([
      batches[0]!,
      { x: [[1]], n: [1] } as Batch,
      batches[1]!,
    ]);
    await assert.rejects(collect(correlateBatches(iterable, { tol: "auto" })), BatchCorrError);
    assert.equal(record.closed, true);
  });

  test("breaking out cancels a ReadableStream source", async () => {
    const { stream, record } = recordingReadable(batches);
    for await (const _ of correlateBatches(stream)) break;
    assert.equal(record.cancelled, true);
    assert.equal(stream.locked, false);
  });

  test("cancelling the BatchCorrStream's readable cancels the piped source", async () => {
    const { stream, record } = recordingReadable(batches);
    const reader = stream.pipeThrough(new BatchCorrStream()).getReader();
    const first = await reader.read();
    assert.equal(first.value!.index, 0);
    await reader.cancel("enough");
    // The pipe propagates the cancellation asynchronously.
    for (let i = 0; i < 20 && !record.cancelled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.equal(record.cancelled, true);
  });

  test("an invalid batch in the BatchCorrStream cancels the piped source with the error", async () => {
    const { stream, record } = recordingReadable([
      batches[0]!,
      { x: [[1]], n: [1, 2] } as Batch,
      batches[1]!,
    ]);
    await assert.rejects(collect(stream.pipeThrough(batchCorrStream())), BatchCorrError);
    for (let i = 0; i < 20 && !record.cancelled; i++) {
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    assert.equal(record.cancelled, true);
    assert.ok(record.reason instanceof BatchCorrError);
  });

  test("the BatchCorrStream applies backpressure: an endless source is pulled only as results are read", async () => {
    const random = mulberry32(31);
    let pulled = 0;
    const endless = new ReadableStream<Batch>({
      pull(controller) {
        pulled++;
        controller.enqueue(randomBatch(random, 5, [2], 1));
      },
    }, { highWaterMark: 0 });
    const reader = endless.pipeThrough(new BatchCorrStream({ highWaterMark: 1 })).getReader();
    for (let i = 0; i < 3; i++) await reader.read();
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    assert.ok(pulled >= 3 && pulled <= 8, `pulled ${pulled}`);
    await reader.cancel();
  });
});

describe("stream options", () => {
  test("are validated when the stream is created", () => {
    assert.throws(
      () => correlateBatches([], { window: 2, decay: 0.5 }),
      (e) => e instanceof TypeError && /window and options.decay/.test(e.message),
    );
    assert.throws(
      () => new BatchCorrStream({ window: 0 }),
      (e) => e instanceof RangeError && /options.window must be a positive integer/.test(e.message),
    );
    assert.throws(
      () => new BatchCorrStream({ decay: 1.5 }),
      (e) =>
        e instanceof RangeError && /options.decay must be a number in \(0, 1\]/.test(e.message),
    );
    assert.throws(
      () => batchCorrStream({ onInvalid: "ignore" } as never),
      (e) => e instanceof TypeError && /onInvalid/.test(e.message),
    );
    assert.throws(
      () => correlateBatches([], { windw: 3 } as never),
      (e) => e instanceof TypeError && /"windw"/.test(e.message),
    );
    assert.throws(
      () => correlateBatches([], { accumulator: {} } as never),
      (e) => e instanceof TypeError && /CorrelationAccumulator/.test(e.message),
    );
    assert.throws(() => correlateBatches([], { tolSig: 2 }), RangeError);
    assert.throws(() => new BatchCorrStream({ highWaterMark: -1 }), RangeError);
    assert.throws(
      () => correlateBatches(42 as never),
      (e) => e instanceof TypeError && /source must be an AsyncIterable/.test(e.message),
    );
    assert.throws(() => correlateBatches("batches" as never), TypeError);
  });

  test("correlateBatches and BatchCorrStream ignore options only Object.prototype holds (accumulator, window, decay, backend, output) once batches flow", async () => {
    const batches = randomBatches(31, 4, [3], 2);
    const expected = await viaTransform(batches, {});
    assert.deepEqual(await collect(correlateBatches(batches)), expected);
    const proto = Object.prototype as Record<string, unknown>;
    const polluted = { accumulator: {}, window: 2, decay: 0.5, backend: {}, output: "losses" };
    for (const [key, value] of Object.entries(polluted)) {
      proto[key] = value;
      try {
        assert.deepEqual(await viaTransform(batches, {}), expected, `BatchCorrStream, ${key}`);
        assert.deepEqual(
          await collect(correlateBatches(batches)),
          expected,
          `correlateBatches, ${key}`,
        );
      } finally {
        delete proto[key];
      }
    }
  });
});

describe("a polluted Object.prototype", () => {
  test("changes no stream result under the names of the results' own fields (correlations, window, gradN, low parts) or of a transformer's members", async () => {
    const batches: Batch[] = randomBatches(41, 4, [3], 2);
    batches.splice(2, 0, {
      x: { data: new Float64Array(12).fill(Number.NaN), shape: [4, 3] },
      n: batches[0]!.n,
    });
    const settings: CorrelateBatchesOptions[] = [
      { window: 2, onInvalid: "skip", gradient: "both", scalarisation: "meansq" },
      { output: "losses", decay: 0.5, onInvalid: "skip" },
    ];
    const proto = Object.prototype as Record<string, unknown>;
    const keys = [
      "correlations",
      "window",
      "gradN",
      "meanXLo",
      "meanNLo",
      "start",
      "flush",
      "cancel",
    ];
    for (const options of settings) {
      const expected = await viaTransform(batches, options);
      assert.deepEqual(await collect(correlateBatches(batches, options)), expected);
      for (const key of keys) {
        Object.defineProperty(proto, key, {
          value: Float64Array.of(1e6, -1e6, 1e6, -1e6, 1e6, -1e6),
          writable: true,
          configurable: true,
        });
        try {
          assert.deepEqual(
            await viaTransform(batches, options),
            expected,
            `BatchCorrStream, ${key}`,
          );
          assert.deepEqual(
            await collect(correlateBatches(batches, options)),
            expected,
            `correlateBatches, ${key}`,
          );
        } finally {
          delete proto[key];
        }
      }
    }
  });
});

describe("correlateBatches() with gradient", () => {
  test("adds each batch's gradient, equal to valueAndGrad on that batch alone", async () => {
    const random = mulberry32(99);
    const batches = [9, 14, 11].map((B) => ({
      x: { data: Float64Array.from({ length: B * 2 * 3 }, random), shape: [B, 2, 3] },
      n: { data: Float64Array.from({ length: 2 * B }, random), shape: [2, B] },
    }));
    const options = { tol: "auto" as const, scalarisation: "meansq" as const, nu: 3 };
    const loss = new BatchCorrelationLoss(options);
    let index = 0;
    for await (const result of correlateBatches(batches, { ...options, gradient: "both" })) {
      const batch = batches[index++]!;
      const expected = loss.valueAndGrad(batch.x, batch.n, { wrt: "both" });
      assert.equal(result.loss, expected.value);
      assert.deepEqual(result.gradient!.shape, [batch.x.shape[0], 2, 3]);
      assert.deepEqual(result.gradient!.data, expected.grad.data);
      assert.deepEqual(result.gradientN!.shape, batch.n.shape);
      assert.deepEqual(result.gradientN!.data, expected.gradN!.data);
    }
    assert.equal(index, 3);
  });

  test("omits gradients unless asked, and rejects a bad gradient option", async () => {
    for await (const result of correlateBatches([{ x: [[1], [2], [4]], n: [1, 2, 3] }])) {
      assert.equal(result.gradient, undefined);
    }
    assert.throws(() => correlateBatches([], { gradient: "N" as "X" }), {
      name: "TypeError",
      message:
        'Cannot correlate batches as options.gradient must be a boolean, "X" or "both": current value is "N"',
    });
  });

  test("a scalarisation without a gradient is refused when the stream is created", () => {
    assert.throws(() => correlateBatches([], { gradient: true, scalarisation: (v) => v[0]! }), {
      name: "TypeError",
      message:
        /^Cannot correlate batches as options.scalarisation must have a gradient when options.gradient is set/,
    });
  });
});
