/**
 * Tensor forms accepted at the public boundary and their conversion to dense
 * row-major storage.
 *
 * @module
 */

import { ruleMessage, shapeText } from "./errors.ts";
import { hasProperty, readProperty } from "./own_properties.ts";

/** Row-major numeric storage accepted as tensor data. */
export type NumericArray = Float64Array | Float32Array | readonly number[];

/** Nested number arrays, rectangular, of any depth. */
export type NestedNumbers = number | readonly NestedNumbers[];

/**
 * A tensor given as flat row-major `data` and its `shape`, in the spirit of
 * ONNX Runtime's `{ data, dims }`.
 */
export interface TensorInput {
  /** Row-major values; `Float32Array` input is read as float64. */
  readonly data: NumericArray;
  /** The extent of each axis; the product must equal `data.length`. */
  readonly shape: readonly number[];
}

/**
 * Anything the library accepts as a tensor: `{ data, shape }`, nested number
 * arrays, or a `Float64Array` / `Float32Array` read as a vector.
 */
export type TensorLike = TensorInput | readonly NestedNumbers[] | Float64Array | Float32Array;

/** A float64 tensor returned by the library. */
export interface Tensor {
  /** Row-major float64 values. */
  data: Float64Array;
  /** The extent of each axis. */
  shape: number[];
}

/** Dense tensor storage used internally; float32 input is not copied. */
export interface DenseTensor {
  data: Float64Array | Float32Array;
  shape: number[];
}

/**
 * Whether a value is a real `Float64Array` or `Float32Array`: it has the
 * typed array's internal storage (`ArrayBuffer.isView`), which a Proxy over one
 * or an object that only inherits from one does not, and the engine's typed
 * array methods would throw on ("called on incompatible receiver").
 *
 * @param value The value.
 * @returns True for a genuine float typed array.
 */
export function isFloatArray(value: unknown): value is Float64Array | Float32Array {
  return ArrayBuffer.isView(value) &&
    (value instanceof Float64Array || value instanceof Float32Array);
}

/** Something that claims to be a float typed array (its prototype is one) but is not one. */
function isFakeFloatArray(value: unknown): boolean {
  return !ArrayBuffer.isView(value) &&
    (value instanceof Float64Array || value instanceof Float32Array);
}

const FAKE_TYPED_ARRAY =
  "a Float64Array or a Float32Array itself (a Proxy over one, or an object that only inherits from one, has no typed array storage)";

function isTensorInput(value: unknown): value is TensorInput {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    hasProperty(value, "data") && hasProperty(value, "shape");
}

/**
 * The elements of an array-like read once each (its length once too), so a
 * getter or a Proxy that answers differently on a second read cannot change
 * what was validated.
 */
function snapshotArray(values: ArrayLike<unknown>): unknown[] {
  const length = values.length;
  const out = new Array<unknown>(length);
  for (let i = 0; i < length; i++) out[i] = values[i];
  return out;
}

function checkShape(shape: unknown, name: string, context: string): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      ruleMessage(context, `${name}.shape`, "an array of non-negative integers", shape),
    );
  }
  // The copy is what gets validated and used: the caller's array is never read again.
  const copy = snapshotArray(shape);
  for (const extent of copy) {
    if (typeof extent !== "number" || !Number.isInteger(extent) || extent < 0) {
      throw new TypeError(
        ruleMessage(
          context,
          `${name}.shape`,
          "an array of non-negative integers",
          copy.every((e) => typeof e === "number") ? shapeText(copy as number[]) : copy,
        ),
      );
    }
  }
  return copy as number[];
}

function numbersToFloat64(values: ArrayLike<unknown>, name: string, context: string): Float64Array {
  const length = values.length;
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v = values[i];
    if (typeof v !== "number") {
      throw new TypeError(ruleMessage(context, `${name} element ${i}`, "a number", v));
    }
    out[i] = v;
  }
  return out;
}

function inferNestedShape(
  value: readonly NestedNumbers[],
  name: string,
  context: string,
): number[] {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape.length === 0 ? checkShape([], name, context) : shape;
}

function flattenNested(
  value: readonly NestedNumbers[],
  shape: number[],
  name: string,
  context: string,
): Float64Array {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float64Array(size);
  let cursor = 0;
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof node !== "number") {
        throw new TypeError(ruleMessage(context, `${name}${path}`, "a number", node));
      }
      out[cursor++] = node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new TypeError(
        ruleMessage(
          context,
          `${name}${path}`,
          `an array of length ${shape[depth]} (nested arrays must be rectangular)`,
          node,
        ),
      );
    }
    // The checked extent, not node.length again: a getter could answer differently now.
    const extent = shape[depth]!;
    for (let i = 0; i < extent; i++) walk(node[i], depth + 1, `${path}[${i}]`);
  };
  walk(value, 0, "");
  return out;
}

/**
 * Converts any accepted tensor form into dense row-major storage, checking that
 * the data and shape agree and that every element is a number.
 *
 * @param input The tensor as given by the caller.
 * @param name The argument's name, for error messages.
 * @param context What was being done, for error messages ("compute batchCorr").
 * @returns Dense storage; `Float64Array` and `Float32Array` data are not copied.
 * @throws {TypeError} If the input is not a tensor, its shape is malformed, its
 * data length disagrees with the shape, an element is not a number, or a
 * typed array is a Proxy (or only inherits from a typed array). The shape is
 * copied once and the copy is validated and used.
 */
export function toDenseTensor(input: unknown, name: string, context: string): DenseTensor {
  if (isFloatArray(input)) return { data: input, shape: [input.length] };
  if (isFakeFloatArray(input)) {
    throw new TypeError(ruleMessage(context, name, FAKE_TYPED_ARRAY, input));
  }
  if (Array.isArray(input)) {
    const shape = inferNestedShape(input, name, context);
    return { data: flattenNested(input, shape, name, context), shape };
  }
  if (!isTensorInput(input)) {
    throw new TypeError(
      ruleMessage(context, name, "a tensor: { data, shape } or a nested number array", input),
    );
  }
  // Each read once; an inherited Object.prototype.data or .shape is never one.
  const shape = checkShape(readProperty(input, "shape"), name, context);
  const size = shape.reduce((a, b) => a * b, 1);
  const raw: unknown = readProperty(input, "data");
  let data: Float64Array | Float32Array;
  if (isFloatArray(raw)) {
    data = raw;
  } else if (isFakeFloatArray(raw)) {
    throw new TypeError(ruleMessage(context, `${name}.data`, FAKE_TYPED_ARRAY, raw));
  } else if (Array.isArray(raw)) {
    data = numbersToFloat64(raw, `${name}.data`, context);
  } else {
    throw new TypeError(
      ruleMessage(
        context,
        `${name}.data`,
        "a Float64Array, a Float32Array or an array of numbers",
        raw,
      ),
    );
  }
  if (data.length !== size) {
    throw new TypeError(
      ruleMessage(
        context,
        `${name}.data.length`,
        `the product of ${name}.shape ${shapeText(shape)} (${size})`,
        data.length,
      ),
    );
  }
  return { data, shape };
}
