/**
 * The payload of a batch envelope: x's and n's elements written and read as
 * little-endian float64 or float32.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import type { DenseTensor } from "../core/tensor.ts";
import { LITTLE_ENDIAN } from "./_envelope_layout.ts";

export function writeValues(
  out: Uint8Array,
  offset: number,
  tensor: DenseTensor,
  dtype: "float64" | "float32",
  name: string,
  context: string,
): void {
  const values = tensor.data;
  if (!LITTLE_ENDIAN) {
    writeSwapped(out, offset, values, dtype);
    return;
  }
  // The payload starts on a multiple of 8 of a fresh buffer: write through a typed view, no staging copy.
  if (dtype === "float64") {
    new Float64Array(out.buffer, out.byteOffset + offset, values.length).set(values);
    return;
  }
  const view = new Float32Array(out.buffer, out.byteOffset + offset, values.length);
  view.set(values);
  if (values instanceof Float32Array) return;
  for (let i = 0; i < view.length; i++) {
    if (!Number.isFinite(view[i]!) && Number.isFinite(values[i]!)) {
      throw new RangeError(
        ruleMessage(
          context,
          `${name} element ${i}`,
          "within float32's range (about ±3.4e38) for dtype float32",
          values[i],
        ),
      );
    }
  }
}

/**
 * Big-endian hosts: element by element through a DataView (exported so that
 * the tests check it against the typed-array path on little-endian hosts).
 */
export function writeSwapped(
  out: Uint8Array,
  offset: number,
  values: ArrayLike<number>,
  dtype: "float64" | "float32",
): void {
  const view = new DataView(out.buffer, out.byteOffset + offset);
  for (let i = 0; i < values.length; i++) {
    if (dtype === "float64") view.setFloat64(8 * i, values[i]!, true);
    else view.setFloat32(4 * i, values[i]!, true);
  }
}

export function readValues(
  bytes: Uint8Array,
  offset: number,
  count: number,
  dtype: "float64" | "float32",
  copy: boolean,
): Float64Array | Float32Array {
  const width = dtype === "float64" ? 8 : 4;
  const start = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && !copy && start % width === 0) {
    return dtype === "float64"
      ? new Float64Array(bytes.buffer, start, count)
      : new Float32Array(bytes.buffer, start, count);
  }
  const out = dtype === "float64" ? new Float64Array(count) : new Float32Array(count);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(offset, offset + count * width));
    return out;
  }
  readSwapped(bytes, offset, out, dtype);
  return out;
}

/**
 * Big-endian hosts: reads little-endian values into `out` element by element
 * through a DataView (exported for the tests, as {@linkcode writeSwapped}).
 */
export function readSwapped(
  bytes: Uint8Array,
  offset: number,
  out: Float64Array | Float32Array,
  dtype: "float64" | "float32",
): void {
  const width = dtype === "float64" ? 8 : 4;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, out.length * width);
  for (let i = 0; i < out.length; i++) {
    out[i] = dtype === "float64" ? view.getFloat64(8 * i, true) : view.getFloat32(4 * i, true);
  }
}
