/**
 * Tensor forms accepted at the public boundary and their conversion to dense
 * row-major storage.
 *
 * @module
 */

import { ruleMessage, shapeText } from "./errors.ts";

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

function isTensorInput(value: unknown): value is TensorInput {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    "data" in value && "shape" in value;
}

function checkShape(shape: unknown, name: string, context: string): number[] {
  if (!Array.isArray(shape)) {
    throw new TypeError(
      ruleMessage(context, `${name}.shape`, "an array of non-negative integers", shape),
    );
  }
  for (const extent of shape) {
    if (typeof extent !== "number" || !Number.isInteger(extent) || extent < 0) {
      throw new TypeError(
        ruleMessage(
          context,
          `${name}.shape`,
          "an array of non-negative integers",
          shapeText(shape),
        ),
      );
    }
  }
  return [...shape] as number[];
}

function numbersToFloat64(values: ArrayLike<unknown>, name: string, context: string): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
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
    for (let i = 0; i < node.length; i++) walk(node[i], depth + 1, `${path}[${i}]`);
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
 * data length disagrees with the shape, or an element is not a number.
 */
export function toDenseTensor(input: unknown, name: string, context: string): DenseTensor {
  if (input instanceof Float64Array || input instanceof Float32Array) {
    return { data: input, shape: [input.length] };
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
  const shape = checkShape(input.shape, name, context);
  const size = shape.reduce((a, b) => a * b, 1);
  const raw: unknown = input.data;
  let data: Float64Array | Float32Array;
  if (raw instanceof Float64Array || raw instanceof Float32Array) {
    data = raw;
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
