import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { CorrelationAccumulator } from "../../mod.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../../src/nats/_partition_store.ts";

describe("JetStream partition checkpoints", () => {
  const snapshot = new CorrelationAccumulator().update([[1], [2], [4]], [1, 3, 2]).toBytes();
  /** A checkpoint after one committed batch, `last` as given. */
  const afterOneBatch = (last: Parameters<typeof encodeCheckpoint>[0]["last"]) =>
    encodeCheckpoint({ watermark: 1, batches: 1, commits: 1, deadLetters: 0, snapshot, last });

  test("round-trip the state, the watermark and the last batch with its metadata", () => {
    const value = {
      watermark: 7,
      batches: 3,
      commits: 3,
      deadLetters: 1,
      snapshot,
      last: { batchId: "f.csv:2", meta: { line: 52, date: "2024-01-01" }, committedAt: 1234.5 },
    };
    assert.deepEqual(decodeCheckpoint(encodeCheckpoint(value), "p0000"), value);
  });

  test("read a version-1 checkpoint (no last batch) as before", () => {
    const v1 = new Uint8Array(40 + snapshot.length);
    const view = new DataView(v1.buffer);
    v1.set([0x42, 0x43, 0x4e, 0x43], 0);
    view.setUint32(4, 1, true);
    view.setFloat64(8, 5, true);
    view.setFloat64(16, 2, true);
    view.setFloat64(24, 2, true);
    view.setFloat64(32, 0, true);
    v1.set(snapshot, 40);
    const decoded = decodeCheckpoint(v1, "p0001");
    assert.deepEqual(
      [decoded.watermark, decoded.batches, decoded.commits, decoded.last],
      [5, 2, 2, undefined],
    );
    assert.deepEqual(decoded.snapshot, snapshot);
  });

  test("read the last batch's own keys only: one its JSON lacks stays missing whatever Object.prototype holds", () => {
    const bytes = afterOneBatch({ batchId: "b", committedAt: 1 });
    const proto = Object.prototype as Record<string, unknown>;
    proto.meta = { line: 666 };
    try {
      assert.deepEqual(decodeCheckpoint(bytes, "p0004").last, { batchId: "b", committedAt: 1 });
    } finally {
      delete proto.meta;
    }
    const noId = afterOneBatch({ batchId: undefined as never, committedAt: 1 });
    proto.batchId = "inherited";
    try {
      assert.equal(decodeCheckpoint(noId, "p0005").last, undefined);
    } finally {
      delete proto.batchId;
    }
  });

  test("refuse another magic or version, and survive unreadable last-batch JSON", () => {
    const bytes = encodeCheckpoint({
      watermark: undefined,
      batches: 0,
      commits: 0,
      deadLetters: 0,
      snapshot: undefined,
    });
    const wrong = bytes.slice();
    wrong[4] = 9;
    assert.throws(() => decodeCheckpoint(wrong, "p0002"), /version 1 or 2/);
    const garbled = afterOneBatch({ batchId: "b", committedAt: 1 });
    garbled[56] = 0x7b + 1; // the JSON no longer parses
    const decoded = decodeCheckpoint(garbled, "p0003");
    assert.equal(decoded.last, undefined);
    assert.deepEqual(decoded.snapshot, snapshot);
  });
});
