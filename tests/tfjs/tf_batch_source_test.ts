import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import { type Batch, BatchCorrStream, correlateBatches } from "../../mod.ts";
import { tfBatchSource } from "../../src/tfjs/mod.ts";
import { useBackend } from "./_backends.ts";

// Values exact in float32, so tensors and host arrays hold the same numbers.
const rows = [[1, 0.5], [2, 0.125], [4, 0.875], [3, 0.25], [5, 0.75], [7, 0.375], [6, 0.8125], [
  8,
  0.4375,
]];
const confound = [0.125, 0.3125, 0.25, 0.625, 0.5, 0.875, 0.75, 0.8125];
const hostBatches: Batch[] = [0, 4].map((start) => ({
  x: rows.slice(start, start + 4),
  n: confound.slice(start, start + 4),
}));

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of source) out.push(value);
  return out;
}

describe("tfBatchSource", () => {
  before(() => useBackend("cpu"));

  test("tf batches stream to the same results as the host batches, and are disposed once read", async () => {
    const tensors = tf.memory().numTensors;
    const tfBatches = hostBatches.map((b) => ({
      x: tf.tensor2d(b.x as number[][]),
      n: tf.tensor1d(b.n as number[]),
    }));
    const fromTf = await collect(
      correlateBatches(tfBatchSource(tfBatches), { tol: 0.05, window: 1 }),
    );
    const fromHost = await collect(correlateBatches(hostBatches, { tol: 0.05, window: 1 }));
    assert.deepEqual(
      fromTf.map((r) => [r.loss, r.running.loss, r.window!.loss]),
      fromHost.map((r) => [r.loss, r.running.loss, r.window!.loss]),
    );
    assert.ok(tfBatches.every((b) => b.x.isDisposed && b.n.isDisposed));
    assert.equal(tf.memory().numTensors, tensors);
  });

  test("a tf.data dataset streams through BatchCorrStream", async () => {
    const dataset = tf.data.zip({
      x: tf.data.array(rows).batch(4),
      n: tf.data.array(confound).batch(4),
    });
    const tensors = tf.memory().numTensors;
    const stream = ReadableStream.from(tfBatchSource(dataset)).pipeThrough(
      new BatchCorrStream({ abs: false }),
    );
    const results = await collect(stream);
    assert.deepEqual(results.map((r) => r.count), [4, 8]);
    assert.equal(tf.memory().numTensors, tensors);
  });

  test("a dataset's iterator is a source too, and disposeInputs false keeps the tensors", async () => {
    const x = tf.tensor2d(rows.slice(0, 4)), n = tf.tensor1d(confound.slice(0, 4));
    const iterator = {
      done: false,
      next() {
        const result = this.done
          ? { done: true as const, value: undefined }
          : { done: false as const, value: { x, n } };
        this.done = true;
        return Promise.resolve(result);
      },
    };
    const batches = await collect(tfBatchSource(iterator, { disposeInputs: false }));
    assert.equal(batches.length, 1);
    assert.deepEqual((batches[0]!.x as unknown as { shape: number[] }).shape, [4, 2]);
    assert.ok(!x.isDisposed && !n.isDisposed);
    tf.dispose([x, n]);
  });

  test("stopping early releases the source", async () => {
    let released = false;
    async function* batches() {
      try {
        for (let i = 0; i < 10; i++) {
          yield { x: tf.tensor2d(rows.slice(0, 4)), n: tf.tensor1d(confound.slice(0, 4)) };
        }
      } finally {
        released = true;
      }
    }
    const tensors = tf.memory().numTensors;
    for await (const result of correlateBatches(tfBatchSource(batches()))) {
      if (result.index === 1) break;
    }
    assert.ok(released);
    assert.equal(tf.memory().numTensors, tensors);
  });

  test("a bad source or option is refused at once, and a disposed tensor while streaming", async () => {
    assert.throws(() => tfBatchSource(42 as never), {
      name: "TypeError",
      message:
        /^Cannot read tf batches as source must be an AsyncIterable, an Iterable or a ReadableStream of \{ x, n \}, a tf.data.Dataset or its iterator: current value is 42$/,
    });
    assert.throws(
      () => tfBatchSource([], { disposeInputs: "no" as never }),
      /options.disposeInputs must be a boolean/,
    );
    assert.throws(
      () => tfBatchSource([], { dispose: true } as never),
      /known keys \(disposeInputs\)/,
    );
    const gone = tf.tensor1d([1, 2, 3]);
    gone.dispose();
    await assert.rejects(
      collect(tfBatchSource([{ x: gone, n: [1, 2, 3] }])),
      /x must be a tensor that is not disposed/,
    );
  });
});
