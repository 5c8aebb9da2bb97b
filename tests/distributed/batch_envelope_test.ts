import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrError } from "../../mod.ts";
import {
  BATCH_ENVELOPE_VERSION,
  decodeBatchEnvelope,
  encodeBatchEnvelope,
  safeDecodeBatchEnvelope,
} from "../../src/distributed/mod.ts";
import { mulberry32 } from "../random.ts";

function isEnvelopeError(error: unknown): boolean {
  return error instanceof BatchCorrError && (error.code as string) === "invalid_envelope" &&
    /^Cannot decode the batch envelope as .* must /.test(error.message);
}

describe("batch envelope", () => {
  test("a batch without meta, id, x or n of its own takes none from Object.prototype", () => {
    const batch = { id: "b", x: [[1, 2], [3, 4], [5, 7]], n: [0.1, 0.3, 0.2] };
    const expected = encodeBatchEnvelope(batch);
    const proto = Object.prototype as Record<string, unknown>;
    proto.meta = { injected: 1 };
    let bytes: Uint8Array;
    try {
      bytes = encodeBatchEnvelope(batch);
    } finally {
      delete proto.meta;
    }
    assert.deepEqual(bytes, expected);
    assert.equal(Object.hasOwn(decodeBatchEnvelope(bytes), "meta"), false);
    const { x: _x, ...withoutX } = batch;
    proto.x = [[9, 9], [9, 9], [9, 9]];
    try {
      assert.throws(() => encodeBatchEnvelope(withoutX as never), TypeError);
    } finally {
      delete proto.x;
    }
  });

  test("round-trips float64 data bit for bit, with shapes, id and metadata", () => {
    const x = new Float64Array([
      Math.PI,
      -0,
      5e-324,
      -1.7976931348623157e308,
      1 / 3,
      2 ** -1074,
      7,
      8,
      9,
      10,
      11,
      12,
    ]);
    const bytes = encodeBatchEnvelope({
      id: "día-1 ✓",
      x: { data: x, shape: [2, 3, 2] },
      n: [[1, 2], [3, 4]],
      meta: { line: 12, date: "2012-01-01", ok: true, none: null },
    });
    assert.equal(bytes.length % 8, 0);
    const batch = decodeBatchEnvelope(bytes);
    assert.equal(batch.id, "día-1 ✓");
    assert.deepEqual(batch.x.shape, [2, 3, 2]);
    assert.deepEqual(batch.n.shape, [2, 2]);
    assert.deepEqual(new Uint8Array(batch.x.data.buffer), new Uint8Array(x.buffer));
    assert.ok(Object.is(batch.x.data[1], -0));
    assert.deepEqual(batch.meta, { line: 12, date: "2012-01-01", ok: true, none: null });
    assert.equal(batch.dtype, "float64");
    assert.equal(BATCH_ENVELOPE_VERSION, 1);
  });

  test("float32 halves the payload and rounds each value to float32", () => {
    const values = [0.1, 1e-3, 12345.678, -2.5];
    const f64 = encodeBatchEnvelope({ id: "a", x: { data: values, shape: [4] }, n: [1, 2, 3, 4] });
    const f32 = encodeBatchEnvelope({ id: "a", x: { data: values, shape: [4] }, n: [1, 2, 3, 4] }, {
      dtype: "float32",
    });
    assert.equal(f64.length - f32.length, 32);
    const batch = decodeBatchEnvelope(f32);
    assert.ok(batch.x.data instanceof Float32Array);
    assert.deepEqual(Array.from(batch.x.data), Array.from(Float32Array.from(values)));
    assert.throws(
      () => encodeBatchEnvelope({ id: "a", x: [1e39, 1], n: [1, 2] }, { dtype: "float32" }),
      RangeError,
    );
  });

  test("decodes from any byte offset and does not alias the input", () => {
    const bytes = encodeBatchEnvelope({ id: "b", x: [[1, 2], [3, 4]], n: [5, 6] });
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const batch = decodeBatchEnvelope(shifted.subarray(3));
    shifted.fill(0);
    assert.deepEqual(Array.from(batch.x.data), [1, 2, 3, 4]);
  });

  test("copy: false gives views over aligned bytes and copies at an unaligned offset", () => {
    const bytes = encodeBatchEnvelope({ id: "b", x: [[1, 2], [3, 4]], n: [5, 6] });
    const viewed = decodeBatchEnvelope(bytes, { copy: false });
    assert.equal(viewed.x.data.buffer, bytes.buffer, "x aliases the envelope");
    assert.equal(viewed.n.data.buffer, bytes.buffer, "n aliases the envelope");
    assert.deepEqual([Array.from(viewed.x.data), Array.from(viewed.n.data)], [[1, 2, 3, 4], [
      5,
      6,
    ]]);
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const copied = decodeBatchEnvelope(shifted.subarray(3), { copy: false });
    assert.notEqual(copied.x.data.buffer, shifted.buffer);
    shifted.fill(0);
    assert.deepEqual(Array.from(copied.x.data), [1, 2, 3, 4]);
    const float32 = encodeBatchEnvelope({ id: "c", x: [[0.1], [0.2]], n: [1, 2] }, {
      dtype: "float32",
    });
    const viewed32 = decodeBatchEnvelope(float32, { copy: false });
    assert.ok(viewed32.x.data instanceof Float32Array);
    assert.deepEqual(Array.from(viewed32.x.data), [Math.fround(0.1), Math.fround(0.2)]);
  });

  test("encodes number arrays, Float64Array and Float32Array data to the same bytes", () => {
    const values = [0.5, -1.25, 3, 1e-300];
    const shape = [2, 2];
    const fromArray = encodeBatchEnvelope({ id: "a", x: { data: values, shape }, n: [1, 2] });
    const fromF64 = encodeBatchEnvelope({
      id: "a",
      x: { data: Float64Array.from(values), shape },
      n: Float64Array.from([1, 2]),
    });
    assert.deepEqual(fromArray, fromF64);
    const f32 = Float32Array.from([0.5, -1.25, 3, 7]);
    const a = encodeBatchEnvelope({ id: "a", x: { data: f32, shape }, n: [1, 2] }, {
      dtype: "float32",
    });
    const b = encodeBatchEnvelope({ id: "a", x: { data: Array.from(f32), shape }, n: [1, 2] }, {
      dtype: "float32",
    });
    assert.deepEqual(a, b);
  });

  test("refuses every truncation and every extension with invalid_envelope", () => {
    const bytes = encodeBatchEnvelope({
      id: "c",
      x: [[1, 2], [3, 4], [5, 6]],
      n: [[1, 2, 3], [4, 5, 7]],
      meta: { a: 1 },
    });
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(
        () => decodeBatchEnvelope(bytes.subarray(0, length)),
        isEnvelopeError,
        `length ${length}`,
      );
    }
    const longer = new Uint8Array(bytes.length + 8);
    longer.set(bytes);
    assert.throws(() => decodeBatchEnvelope(longer), isEnvelopeError);
  });

  test("refuses a wrong magic, version, element type, rank, extent or id length, naming the field", () => {
    const bytes = encodeBatchEnvelope({ id: "d", x: [[1], [2]], n: [3, 4] });
    const corrupt = (offset: number, value: number, pattern: RegExp) => {
      const copy = bytes.slice();
      copy[offset] = value;
      assert.throws(
        () => decodeBatchEnvelope(copy),
        (e) => isEnvelopeError(e) && pattern.test((e as Error).message),
      );
    };
    corrupt(0, 0x58, /magic/);
    corrupt(4, 2, /version/);
    corrupt(6, 9, /element type/);
    corrupt(7, 0, /rank of x/);
    corrupt(8, 3, /rank of n/);
    corrupt(9, 1, /bytes 9–11/);
    corrupt(12, 0, /id's length/);
    corrupt(20, 3, /n's last extent|length/);
    corrupt(20, 0, /extent/);
  });

  test("never throws anything but invalid_envelope on random bytes, and its safe twin never throws", () => {
    const random = mulberry32(99);
    const valid = encodeBatchEnvelope({ id: "e", x: [[1, 2], [3, 4]], n: [5, 6] });
    for (let i = 0; i < 2000; i++) {
      const bytes = i % 2 === 0 ? valid.slice() : new Uint8Array(Math.floor(random() * 80));
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        if (bytes.length > 0) {
          bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
        }
      }
      const result = safeDecodeBatchEnvelope(bytes);
      if (!result.success) assert.ok(isEnvelopeError(result.error), result.error.message);
      else assert.equal(result.data.x.data.length, result.data.x.shape.reduce((a, b) => a * b, 1));
    }
    const nonBytes = safeDecodeBatchEnvelope("text" as never);
    assert.ok(!nonBytes.success && nonBytes.error instanceof TypeError);
  });

  test("refuses bad batches at encoding with the library's message format", () => {
    assert.throws(
      () => encodeBatchEnvelope({ id: "", x: [1, 2], n: [1, 2] }),
      /batch.id must be a non-empty string/,
    );
    assert.throws(
      () => encodeBatchEnvelope({ id: "x".repeat(1025), x: [1, 2], n: [1, 2] }),
      /at most 1024 UTF-8 bytes/,
    );
    assert.throws(
      () => encodeBatchEnvelope({ id: "a", x: [1, 2, 3], n: [1, 2] }),
      /x's batch size 3/,
    );
    assert.throws(() => encodeBatchEnvelope({ id: "a", x: [1, 2], n: [[[1, 2]]] }), /n's shape/);
    assert.throws(
      () => encodeBatchEnvelope({ id: "a", x: [1, 2], n: [1, 2], meta: { deep: {} } as never }),
      /batch.meta.deep/,
    );
    assert.throws(
      () => encodeBatchEnvelope({ id: "a", x: [1, 2], n: [1, 2] }, { dtype: "int8" as never }),
      /options.dtype/,
    );
  });
});
