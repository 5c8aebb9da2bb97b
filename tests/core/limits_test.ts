import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  batchCorr,
  BatchCorrelationLoss,
  BatchCorrError,
  BatchCorrStream,
  correlateBatches,
  CorrelationAccumulator,
  DEFAULT_MAX_ELEMENTS,
} from "../../mod.ts";

/** X of shape (2, F) and N of shape (M, 2): tiny inputs whose result would be F·M. */
function wide(F: number, M: number) {
  return {
    x: { data: new Float64Array(2 * F).map((_, i) => i % 3), shape: [2, F] },
    n: { data: new Float64Array(2 * M).map((_, i) => i % 2), shape: [M, 2] },
  };
}

function isLimit(F: number, M: number, cap: number) {
  return (e: unknown) =>
    e instanceof BatchCorrError && e.code === "resource_limit" &&
    e.message.includes(`F = ${F} × M = ${M} = ${F * M}`) && e.message.includes(`at most ${cap}`) &&
    /maxElements/.test(e.message) && e.details.maxElements === cap;
}

describe("resource limits", () => {
  test("the default cap is 2**27 F·M entries and refuses a 2-sample batch asking for 1e10 before allocating", () => {
    assert.equal(DEFAULT_MAX_ELEMENTS, 134_217_728);
    const { x, n } = wide(100_000, 100_000);
    assert.throws(() => batchCorr(x, n), isLimit(100_000, 100_000, DEFAULT_MAX_ELEMENTS));
  });

  test("maxElements is enforced by batchCorr, the loss, valueAndGrad, the accumulator and both stream APIs", async () => {
    const { x, n } = wide(4, 3);
    assert.equal(batchCorr(x, n, { maxElements: 12 }).data.length, 12);
    assert.throws(() => batchCorr(x, n, { maxElements: 11 }), isLimit(4, 3, 11));
    const loss = new BatchCorrelationLoss({ maxElements: 11 });
    assert.throws(() => loss.evaluate(x, n), isLimit(4, 3, 11));
    assert.throws(() => loss.valueAndGrad(x, n), isLimit(4, 3, 11));
    assert.throws(
      () => new CorrelationAccumulator({ maxElements: 11 }).update(x, n),
      isLimit(4, 3, 11),
    );
    assert.throws(
      () => new CorrelationAccumulator({ featureShape: [4], confounds: 3, maxElements: 11 }),
      isLimit(4, 3, 11),
    );
    assert.throws(
      () => new CorrelationAccumulator({ featureShape: [2 ** 20, 2 ** 20], confounds: 2 }),
      isLimit(2 ** 40, 2, DEFAULT_MAX_ELEMENTS),
    );
    const small = new CorrelationAccumulator({ maxElements: 11 });
    assert.throws(() => small.merge(new CorrelationAccumulator().update(x, n)), isLimit(4, 3, 11));
    assert.equal(small.count, 0);
    await assert.rejects(
      async () => {
        for await (const _ of correlateBatches([{ x, n }], { maxElements: 11 })) { /* consume */ }
      },
      (e) =>
        e instanceof BatchCorrError && e.code === "stream_batch_failed" &&
        isLimit(4, 3, 11)(e.cause),
    );
    const reader = ReadableStream.from([{ x, n }]).pipeThrough(
      new BatchCorrStream({ maxElements: 11 }),
    ).getReader();
    await assert.rejects(
      reader.read(),
      (e) => e instanceof BatchCorrError && isLimit(4, 3, 11)(e.cause),
    );
  });

  test("maxElements itself must be a positive integer", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
      assert.throws(
        () => batchCorr([[1], [2]], [1, 2], { maxElements: bad }),
        (e) =>
          e instanceof RangeError &&
          /options.maxElements must be a positive integer/.test(e.message),
      );
    }
    assert.throws(
      () => new CorrelationAccumulator({ maxElements: "big" as never }),
      (e) => e instanceof TypeError && /maxElements/.test(e.message),
    );
  });
});
