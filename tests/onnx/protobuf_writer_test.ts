import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ProtoWriter } from "../../src/onnx/_protobuf_writer.ts";

const hex = (bytes: Uint8Array) =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");

// Expected bytes: the worked examples of protobuf's encoding guide, and the
// two's-complement rule for negative int64.
describe("ProtoWriter (the exporter's protobuf wire format)", () => {
  test("writes the encoding guide's varint, string, float and packed examples", () => {
    assert.equal(hex(new ProtoWriter().integer(1, 150).finish()), "08 96 01");
    assert.equal(
      hex(new ProtoWriter().string(2, "testing").finish()),
      "12 07 74 65 73 74 69 6e 67",
    );
    assert.equal(
      hex(new ProtoWriter().packedIntegers(4, [3, 270, 86942]).finish()),
      "22 06 03 8e 02 9e a7 05",
    );
    assert.equal(hex(new ProtoWriter().float(2, 1).finish()), "15 00 00 80 3f");
    assert.equal(
      hex(new ProtoWriter().message(3, (w) => w.integer(1, 150)).finish()),
      "1a 03 08 96 01",
    );
  });

  test("writes negative int64 as ten bytes, large and 2³¹ values as full varints, NaN as the quiet NaN", () => {
    assert.equal(
      hex(new ProtoWriter().integer(1, -1).finish()),
      "08 ff ff ff ff ff ff ff ff ff 01",
    );
    assert.equal(
      hex(new ProtoWriter().integer(1, -2).finish()),
      "08 fe ff ff ff ff ff ff ff ff 01",
    );
    assert.equal(hex(new ProtoWriter().integer(1, 2 ** 31).finish()), "08 80 80 80 80 08");
    assert.equal(
      hex(new ProtoWriter().integer(1, 2 ** 53 - 1).finish()),
      "08 ff ff ff ff ff ff ff 0f",
    );
    assert.equal(
      hex(new ProtoWriter().packedFloats(4, [Number.NaN, -0]).finish()),
      "22 08 00 00 c0 7f 00 00 00 80",
    );
    assert.equal(hex(new ProtoWriter().integer(300, 1).finish()), "e0 12 01"); // a two-byte key
  });

  test("omits empty packed fields, writes empty strings and messages, and grows past its first buffer", () => {
    assert.equal(new ProtoWriter().packedIntegers(1, []).packedFloats(2, []).finish().length, 0);
    assert.equal(hex(new ProtoWriter().string(1, "").message(2, () => {}).finish()), "0a 00 12 00");
    const long = "é".repeat(1000); // 2000 UTF-8 bytes: a two-byte length
    const bytes = new ProtoWriter().string(1, long).finish();
    assert.equal(hex(bytes.subarray(0, 3)), "0a d0 0f");
    assert.equal(new TextDecoder().decode(bytes.subarray(3)), long);
  });

  test("refuses a non-integer or unsafe varint with a RangeError", () => {
    assert.throws(
      () => new ProtoWriter().integer(1, 1.5),
      /must be a safe integer: current value is 1.5/,
    );
    assert.throws(() => new ProtoWriter().integer(1, 2 ** 64), RangeError);
  });
});
