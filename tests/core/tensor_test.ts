import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  batchCorr,
  BatchCorrelationLoss,
  correlateBatches,
  CorrelationAccumulator,
} from "../../mod.ts";
import { toDenseTensor } from "../../src/core/tensor.ts";

const N = [0.2, 0.5, 0.1, 0.9];
const X = [[1, 4], [2, 2], [3, 3], [5, 0]];
const expected = batchCorr(X, N);

/** An array whose element `index` answers `first` on the first read and `later` after. */
function changingArray<T>(values: T[], index: number, first: T, later: T): T[] {
  const array = [...values];
  let reads = 0;
  Object.defineProperty(array, index, { get: () => (reads++ === 0 ? first : later) });
  return array;
}

function isLibraryTypeError(error: unknown, pattern: RegExp): boolean {
  return error instanceof TypeError && /^Cannot compute batchCorr as /.test(error.message) &&
    pattern.test(error.message);
}

describe("tensor inputs at the boundary", () => {
  test("a Proxy over a Float64Array is refused with the library's TypeError, as X, as data and as N", () => {
    const proxy = new Proxy(new Float64Array([1, 2, 3, 5]), {});
    const calls = [
      () => batchCorr(proxy as never, N),
      () => batchCorr({ data: proxy as never, shape: [4, 1] }, N),
      () => batchCorr(X, proxy as never),
      () => batchCorr(X, { data: new Proxy(new Float32Array(N), {}) as never, shape: [4] }),
    ];
    for (const call of calls) {
      assert.throws(
        call,
        (e) =>
          isLibraryTypeError(
            e,
            /must be a Float64Array or a Float32Array itself \(a Proxy over one/,
          ),
      );
    }
    // So is an object that only inherits from a typed array.
    assert.throws(
      () => batchCorr(Object.create(Float64Array.prototype), N),
      (e) => isLibraryTypeError(e, /has no typed array storage/),
    );
  });

  test("a Proxy over a plain array (nested or as data) works: its elements are read through it once", () => {
    let reads = 0;
    const counted = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(t, key, receiver) {
          if (typeof key === "string" && /^\d+$/.test(key)) reads++;
          return Reflect.get(t, key, receiver);
        },
      });
    assert.deepEqual(batchCorr(counted(X.map((row) => counted(row))), counted(N)), expected);
    reads = 0;
    const flat = counted(X.flat());
    assert.deepEqual(batchCorr({ data: flat, shape: [4, 2] }, N), expected);
    assert.equal(reads, 8);
  });

  test("a shape read once: an extent that answers 2, then 2.5, can never reach the kernel", () => {
    // [B, F] = [2, 2] as validated; a re-read would give [2.5, 2], whose product 5 matches the data.
    const shape = changingArray([0, 2], 0, 2, 2.5);
    const data = new Float64Array([1, 2, 3, 4, 5]);
    assert.throws(
      () => batchCorr({ data, shape }, [1, 2]),
      (e) =>
        isLibraryTypeError(e, /X\.data\.length must be the product of X\.shape \[2, 2\] \(4\)/),
    );
    const dense = toDenseTensor(
      { data: new Float64Array(4), shape: changingArray([0, 2], 0, 2, 2.5) },
      "X",
      "test",
    );
    assert.deepEqual(dense.shape, [2, 2]);
  });

  test("the data and shape of { data, shape } are each read once, never from Object.prototype", () => {
    let dataReads = 0, shapeReads = 0;
    const tensor = {
      get data() {
        dataReads++;
        return X.flat();
      },
      get shape() {
        shapeReads++;
        return [4, 2];
      },
    };
    assert.deepEqual(batchCorr(tensor, N), expected);
    assert.deepEqual([dataReads, shapeReads], [1, 1]);
    const proto = Object.prototype as Record<string, unknown>;
    proto.data = [1, 2, 3, 4];
    proto.shape = [4];
    try {
      assert.throws(
        () => batchCorr({} as never, N),
        (e) => isLibraryTypeError(e, /X must be a tensor/),
      );
    } finally {
      delete proto.data;
      delete proto.shape;
    }
  });

  test("a nested row whose length grows after it was measured is read to its measured extent only", () => {
    const rows = X.map((row) => [...row]);
    let lengthReads = 0;
    // The walk checks the length (2) and must not read it again: a second read says 3, with a 7 after.
    rows[1] = new Proxy([...X[1]!, 7], {
      get(target, key, receiver) {
        if (key === "length") return ++lengthReads === 1 ? 2 : 3;
        return Reflect.get(target, key, receiver);
      },
    });
    assert.deepEqual(batchCorr(rows, N), expected);
  });

  test("valueAndGrad, the accumulator and the stream refuse a Proxy the same way", async () => {
    const proxy = new Proxy(new Float64Array([1, 2, 3, 5]), {});
    const refused = (e: unknown) =>
      e instanceof TypeError && /a Proxy over one/.test((e as Error).message);
    assert.throws(() => new BatchCorrelationLoss().valueAndGrad(proxy as never, N), refused);
    assert.throws(() => new CorrelationAccumulator().update(proxy as never, N), refused);
    await assert.rejects(
      (async () => {
        for await (const _ of correlateBatches([{ x: proxy as never, n: N }])) { /* drain */ }
      })(),
      (e) => e instanceof Error && refused((e as Error).cause),
    );
  });

  test("a stream batch's x and n are read once, never from Object.prototype", async () => {
    let reads = 0;
    const batch = {
      get x() {
        reads++;
        return X;
      },
      n: N,
    };
    const results = [];
    for await (const result of correlateBatches([batch])) results.push(result);
    assert.equal(reads, 1);
    assert.deepEqual(results[0]!.correlations, expected);
    const proto = Object.prototype as Record<string, unknown>;
    proto.x = X;
    try {
      await assert.rejects(
        (async () => {
          for await (const _ of correlateBatches([{ n: N } as never])) { /* drain */ }
        })(),
        (e) => e instanceof Error && /must be an object \{ x, n \}/.test(e.message),
      );
    } finally {
      delete proto.x;
    }
  });

  test("updateMoments reads each field once and copies the feature shape before checking it", () => {
    const moments = new CorrelationAccumulator().update(X, N).moments();
    let reads = 0;
    const counting = new Proxy(moments, {
      get(target, key, receiver) {
        reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const acc = new CorrelationAccumulator().updateMoments(counting);
    assert.equal(reads, 8);
    assert.deepEqual(acc.correlations(), expected);
    const shape = changingArray([0], 0, 2, 2.5);
    assert.deepEqual(new CorrelationAccumulator().updateMoments(moments, shape).featureShape, [2]);
  });
});
