/**
 * Conversions of column values to float64 that never round: integers up to
 * 2^53 in magnitude (every one of them is a float64), half floats, and the
 * mixed arrays of numbers, bigints and nulls a Parquet decoder returns.
 *
 * @module
 */

import type { ColumnValues, PlannedColumn } from "./columnar_batcher.ts";

/** 2^53: every integer of at most this magnitude is exactly a float64. */
export const EXACT_INTEGER_LIMIT = 2 ** 53;
const LIMIT_BIG = 2n ** 53n;

/** The rule integers must meet, for messages. */
export const EXACT_INTEGER_RULE = "integers of magnitude at most 2^53, which float64 holds exactly";

function tooWide(context: string, column: PlannedColumn, row: number, value: bigint): RangeError {
  return new RangeError(
    `Cannot ${context} as column "${column.name}" (${column.type}) must hold ${EXACT_INTEGER_RULE}: ` +
      `current value is ${value}n at row ${row}`,
  );
}

/**
 * Converts 64-bit integers to float64, exactly.
 *
 * @param values The integers (null slots are not checked).
 * @param valid Per-value validity, or undefined when none is null.
 * @param column The column, for messages.
 * @param baseRow Input index of the row of value 0.
 * @param context What was being done, for messages.
 * @param width Values per row (a fixed-size list's size), to name the row.
 * @returns The values as float64.
 * @throws {RangeError} For a value beyond ±2^53, naming the column, the row and the value.
 */
export function bigIntsToFloat64(
  values: ArrayLike<bigint>,
  valid: Uint8Array | undefined,
  column: PlannedColumn,
  baseRow: number,
  context: string,
  width = 1,
): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    if (valid !== undefined && valid[i] === 0) continue;
    const value = values[i]!;
    if (value > LIMIT_BIG || value < -LIMIT_BIG) {
      throw tooWide(context, column, baseRow + Math.floor(i / width), value);
    }
    out[i] = Number(value);
  }
  return out;
}

/**
 * Decodes IEEE 754 half-precision bit patterns (every one is exactly a float64).
 *
 * @param bits The 16-bit patterns.
 * @returns The values.
 */
export function float16ToFloat64(bits: ArrayLike<number>): Float64Array {
  const out = new Float64Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const fraction = h & 0x3ff;
    out[i] = exponent === 0
      ? sign * fraction * 2 ** -24
      : exponent === 0x1f
      ? (fraction === 0 ? sign * Infinity : NaN)
      : sign * (1024 + fraction) * 2 ** (exponent - 25);
  }
  return out;
}

/**
 * Reads a decoded array of numbers, bigints and nulls (`null` or `undefined`)
 * as one column: typed float arrays are kept as they are (no copy).
 *
 * @param values The decoded values, one per row.
 * @param column The column, for messages.
 * @param baseRow Input index of value 0.
 * @param context What was being done, for messages.
 * @returns The values and their validity.
 * @throws {RangeError} For an integer beyond ±2^53.
 * @throws {TypeError} For a value that is not a number, a bigint or a null.
 */
export function decodedToColumn(
  values: ArrayLike<unknown>,
  column: PlannedColumn,
  baseRow: number,
  context: string,
): ColumnValues {
  if (values instanceof Float64Array || values instanceof Float32Array) {
    return { data: values, valid: undefined };
  }
  if (values instanceof BigInt64Array || values instanceof BigUint64Array) {
    return {
      data: bigIntsToFloat64(values, undefined, column, baseRow, context),
      valid: undefined,
    };
  }
  const out = new Float64Array(values.length);
  let valid: Uint8Array | undefined;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value === "number") {
      out[i] = value;
    } else if (typeof value === "bigint") {
      if (value > LIMIT_BIG || value < -LIMIT_BIG) {
        throw tooWide(context, column, baseRow + i, value);
      }
      out[i] = Number(value);
    } else if (value === null || value === undefined) {
      valid ??= new Uint8Array(values.length).fill(1);
      valid[i] = 0;
    } else {
      throw new TypeError(
        `Cannot ${context} as column "${column.name}" (${column.type}) must decode to numbers: ` +
          `current value is ${typeof value} at row ${baseRow + i}`,
      );
    }
  }
  return { data: out, valid };
}
