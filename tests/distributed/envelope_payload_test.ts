import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkShapes } from "../../src/distributed/_check_shapes.ts";
import {
  readSwapped,
  readValues,
  writeSwapped,
  writeValues,
} from "../../src/distributed/_envelope_payload.ts";
import { mulberry32 } from "../random.ts";

/** Values whose bits matter: signed zeros, subnormals, extremes, NaN and infinities among random ones. */
function hostileValues(count: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const special = [0, -0, 5e-324, -5e-324, 1.7976931348623157e308, Number.NaN, Infinity, -Infinity];
  return Float64Array.from(
    { length: count },
    (_, i) => i < special.length ? special[i]! : (random() - 0.5) * 2 ** (random() * 200 - 100),
  );
}

describe("the envelope payload's big-endian path", () => {
  for (const dtype of ["float64", "float32"] as const) {
    test(`writes the same little-endian ${dtype} bytes as the typed-array path`, () => {
      const values = hostileValues(257, dtype === "float64" ? 1 : 2);
      const data = dtype === "float64" ? values : Float32Array.from(values);
      const width = dtype === "float64" ? 8 : 4;
      const viaArrays = new Uint8Array(16 + width * values.length);
      const viaDataView = new Uint8Array(16 + width * values.length);
      writeValues(viaArrays, 16, { data, shape: [values.length] }, dtype, "x", "encode");
      writeSwapped(viaDataView, 16, data, dtype);
      assert.deepEqual(viaDataView, viaArrays);
    });

    test(`reads ${dtype} values back bit for bit, from any byte offset`, () => {
      const values = hostileValues(129, dtype === "float64" ? 3 : 4);
      const data = dtype === "float64" ? values : Float32Array.from(values);
      const width = dtype === "float64" ? 8 : 4;
      const bytes = new Uint8Array(8 + width * values.length);
      writeValues(bytes, 8, { data, shape: [values.length] }, dtype, "x", "encode");
      for (const shift of [0, 1, 3]) {
        const shifted = new Uint8Array(shift + bytes.length);
        shifted.set(bytes, shift);
        const expected = readValues(shifted, shift + 8, values.length, dtype, true);
        const out = dtype === "float64"
          ? new Float64Array(values.length)
          : new Float32Array(values.length);
        readSwapped(shifted.subarray(shift), 8, out, dtype);
        assert.deepEqual(new Uint8Array(out.buffer), new Uint8Array(expected.buffer), `+${shift}`);
        assert.deepEqual(new Uint8Array(expected.buffer), new Uint8Array(data.buffer));
      }
    });
  }
});

describe("checkShapes", () => {
  const context = "encode the batch envelope";
  test("refuses an x of rank 0 or above 32, or with a zero extent, showing the shape", () => {
    for (const shape of [[], new Array(33).fill(1), [3, 0]]) {
      assert.throws(
        () => checkShapes(shape, [3], context),
        (e) =>
          e instanceof TypeError &&
          e.message ===
            `Cannot ${context} as x's shape must be 1 to 32 positive extents, batch first: current value is "[${
              shape.join(", ")
            }]"`,
      );
    }
  });

  test("refuses extents of 2³² or more, which the envelope's 32-bit fields cannot hold", () => {
    assert.throws(
      () => checkShapes([2 ** 32, 1], [2 ** 32], context),
      (e) => e instanceof TypeError && /every extent must be below 2³²/.test(e.message),
    );
    assert.doesNotThrow(() => checkShapes([2 ** 32 - 1, 1], [2, 2 ** 32 - 1], context));
  });
});
