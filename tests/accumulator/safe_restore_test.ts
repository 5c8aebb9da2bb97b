import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrError, CorrelationAccumulator } from "../../mod.ts";

/** What fromX throws for an input, or undefined when it restores. */
function thrownBy(restore: () => CorrelationAccumulator): unknown {
  try {
    restore();
  } catch (error) {
    return error;
  }
  return undefined;
}

function sameError(actual: unknown, expected: unknown): void {
  assert.ok(actual instanceof BatchCorrError && expected instanceof BatchCorrError);
  assert.equal(actual.code, expected.code);
  assert.equal(actual.message, expected.message);
  assert.deepEqual(actual.details, expected.details);
}

describe("CorrelationAccumulator.safeFromJSON and safeFromBytes", () => {
  const acc = new CorrelationAccumulator().update([[1, 2], [2, 1], [4, 4], [3, 0]], [[1, 3, 2, 5], [
    0,
    1,
    1,
    0,
  ]]);
  const good = acc.toJSON();

  test("a valid snapshot restores to the same state as fromJSON and fromBytes give", () => {
    const fromText = CorrelationAccumulator.safeFromJSON(JSON.stringify(good));
    const fromObject = CorrelationAccumulator.safeFromJSON(good);
    const fromBytes = CorrelationAccumulator.safeFromBytes(acc.toBytes());
    for (const result of [fromText, fromObject, fromBytes]) {
      assert.equal(result.success, true);
      if (result.success) assert.deepEqual(result.data.toBytes(), acc.toBytes());
    }
    const empty = CorrelationAccumulator.safeFromJSON(
      new CorrelationAccumulator({ confounds: 2 }).toJSON(),
    );
    assert.ok(empty.success && empty.data.confounds === 2 && empty.data.count === 0);
  });

  test("every snapshot fromJSON refuses is returned as the same error, never thrown", () => {
    const corrupt: unknown[] = [
      "not json",
      '{"__proto__": {"polluted": 1}}',
      null,
      [1, 2],
      { ...good, version: 3 },
      { ...good, version: 1 },
      { ...good, format: "other" },
      { ...good, extra: 1 },
      (({ count: _count, ...rest }) => rest)(good),
      { ...good, featureShape: [0] },
      { ...good, count: -1 },
      { ...good, weightSquares: 1e9 },
      { ...good, meanX: [1] },
      { ...good, m2X: [-1, 1] },
      { ...good, comoment: [37, ...good.comoment.slice(1)] },
      { ...good, meanXLo: [0.5, 0] },
      Object.assign(new (class Snapshot {})(), good),
    ];
    for (const input of corrupt) {
      const expected = thrownBy(() => CorrelationAccumulator.fromJSON(input));
      assert.ok(
        expected instanceof BatchCorrError,
        `fromJSON refuses ${JSON.stringify(input)?.slice(0, 60)}`,
      );
      const result = CorrelationAccumulator.safeFromJSON(input);
      assert.equal(result.success, false);
      if (!result.success) sameError(result.error, expected);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test("a declared F·M above expected.maxElements is a resource_limit failure", () => {
    const result = CorrelationAccumulator.safeFromJSON(good, { maxElements: 3 });
    assert.ok(!result.success && result.error.code === "resource_limit");
    if (!result.success) {
      assert.deepEqual(result.error.details, {
        features: 2,
        confounds: 2,
        elements: 4,
        maxElements: 3,
      });
    }
    const bytes = CorrelationAccumulator.safeFromBytes(acc.toBytes(), { maxElements: 3 });
    assert.ok(!bytes.success && bytes.error.code === "resource_limit");
    assert.ok(!CorrelationAccumulator.safeFromJSON(good, { featureShape: [3] }).success);
  });

  test("every one-byte corruption of a binary snapshot gives fromBytes' answer without throwing", () => {
    const bytes = acc.toBytes();
    const refusedAt = new Set<number>();
    for (let i = 0; i < bytes.length; i++) {
      for (const value of [0x00, 0xff, bytes[i]! ^ 0x80]) {
        const copy = bytes.slice();
        copy[i] = value;
        const expected = thrownBy(() => CorrelationAccumulator.fromBytes(copy));
        const result = CorrelationAccumulator.safeFromBytes(copy);
        assert.equal(result.success, expected === undefined, `byte ${i} = ${value}`);
        if (!result.success) {
          sameError(result.error, expected);
          refusedAt.add(i);
        }
      }
    }
    // Every byte of the magic, the version, the rank and M is checked; so are the counts' and means' high bytes.
    for (let i = 0; i < 16; i++) {
      assert.ok(refusedAt.has(i), `a corrupted header byte ${i} is refused`);
    }
    assert.ok(refusedAt.has(31) && refusedAt.has(39), "a corrupted count or Σw² is refused");
    for (const length of [0, 3, 16, bytes.length - 8, bytes.length + 8]) {
      const cut = length <= bytes.length
        ? bytes.subarray(0, length)
        : Uint8Array.from([...bytes, ...new Uint8Array(8)]);
      const result = CorrelationAccumulator.safeFromBytes(cut);
      assert.ok(!result.success && result.error.code === "invalid_snapshot", `length ${length}`);
    }
    assert.ok(!CorrelationAccumulator.safeFromBytes([1, 2] as never).success);
  });

  test("invalid expectations are the caller's error and throw, as fromJSON's do", () => {
    assert.throws(
      () => CorrelationAccumulator.safeFromJSON(good, { shape: [2] } as never),
      TypeError,
    );
    assert.throws(
      () => CorrelationAccumulator.safeFromBytes(acc.toBytes(), { confounds: -1 }),
      RangeError,
    );
  });
});
