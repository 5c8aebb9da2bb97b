/**
 * Arrow schemas to column plans (types checked up front) and Arrow record
 * batches to column chunks (float columns viewed, not copied).
 *
 * @module
 */

import type * as Arrow from "apache-arrow";
import type { ColumnarColumns } from "./columnar_options.ts";
import {
  type ColumnChunk,
  type ColumnPlan,
  type ColumnValues,
  featureNames,
  type PlannedColumn,
} from "./columnar_batcher.ts";
import { bigIntsToFloat64, EXACT_INTEGER_LIMIT, float16ToFloat64 } from "./exact_numbers.ts";

type ArrowModule = typeof import("apache-arrow");

/** The types a confound column may have, in words. */
export const ARROW_SCALAR_RULE =
  "a numeric Arrow column: Float16, Float32, Float64, Int8 to Int64, Uint8 to Uint64, or a Dictionary of one of those";
/** The types a feature column may have, in words. */
export const ARROW_FEATURE_RULE =
  `${ARROW_SCALAR_RULE}, or a FixedSizeList of one of those (one feature per element)`;

/** A column plan with where each column sits in the schema. */
export interface ArrowColumnPlan extends ColumnPlan {
  /** The schema the plan was made for. */
  schema: Arrow.Schema;
  /** Field index of each feature column. */
  featureFields: number[];
  /** Field index of each confound column. */
  confoundFields: number[];
}

function isScalar(arrow: ArrowModule, type: Arrow.DataType): boolean {
  if (arrow.DataType.isFloat(type) || arrow.DataType.isInt(type)) return true;
  if (arrow.DataType.isDictionary(type)) {
    const value = (type as Arrow.Dictionary).dictionary;
    return arrow.DataType.isFloat(value) || arrow.DataType.isInt(value);
  }
  return false;
}

/** Values per row of a usable column, or 0 for a type that is refused. */
function widthOf(arrow: ArrowModule, type: Arrow.DataType, role: "feature" | "confound"): number {
  if (isScalar(arrow, type)) return 1;
  if (role === "feature" && arrow.DataType.isFixedSizeList(type)) {
    const list = type as Arrow.FixedSizeList;
    const child = list.children[0]?.type;
    if (child !== undefined && isScalar(arrow, child) && list.listSize > 0) return list.listSize;
  }
  return 0;
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 20).join(", ");
  return names.length > 20 ? `${shown}, … (${names.length} columns)` : shown;
}

function findField(
  names: readonly string[],
  name: string,
  subject: string,
  context: string,
): number {
  const index = names.indexOf(name);
  if (index === -1) {
    throw new TypeError(
      `Cannot ${context} as ${subject} must name a column of the input (${
        listNames(names)
      }): current value is ${JSON.stringify(name)}`,
    );
  }
  if (names.indexOf(name, index + 1) !== -1) {
    throw new TypeError(
      `Cannot ${context} as ${subject} must name exactly one column of the input: current value is ${
        JSON.stringify(name)
      }, which names several`,
    );
  }
  return index;
}

/** The fields of a schema as a plan reads them: names, type names, and each one's width by role. */
export interface SchemaFields {
  /** The field names, in schema order. */
  names: readonly string[];
  /** A field's type as messages name it ("Float64"). */
  typeName(field: number): string;
  /** Values per row of a field in a role, or 0 when its type is refused there. */
  widthOf(field: number, role: "feature" | "confound"): number;
}

function planColumn(
  fields: SchemaFields,
  name: string,
  role: "feature" | "confound",
  subject: string,
  context: string,
): { field: number; column: PlannedColumn } {
  const field = findField(fields.names, name, subject, context);
  const width = fields.widthOf(field, role);
  if (width === 0) {
    throw new TypeError(
      `Cannot ${context} as column "${name}" (a ${role}) must be ${
        role === "feature" ? ARROW_FEATURE_RULE : ARROW_SCALAR_RULE
      }: current type is ${fields.typeName(field)}`,
    );
  }
  return { field, column: { name, type: fields.typeName(field), width } };
}

/** The names of the feature columns a plan takes: the given ones, or every non-confound column. */
export function featureListOf(
  names: readonly string[],
  features: readonly string[] | undefined,
  confounds: readonly string[],
): readonly string[] {
  const taken = new Set(confounds);
  return features ?? names.filter((name) => !taken.has(name));
}

/** A plan without the schema object it came from. */
export type FieldColumnPlan = Omit<ArrowColumnPlan, "schema">;

/**
 * Selects and checks the feature and confound columns of a schema's fields.
 *
 * @param fields The schema's fields.
 * @param features The feature names, or undefined for every non-confound column.
 * @param confounds The confound names.
 * @param context What was being done, for messages.
 * @returns The plan.
 * @throws {TypeError} For a name that is not a column (or names several), or a
 * column of a type that cannot be read exactly as numbers, naming the column
 * and its type.
 */
export function planColumns(
  fields: SchemaFields,
  features: readonly string[] | undefined,
  confounds: readonly string[],
  context: string,
): FieldColumnPlan {
  const confoundPlans = confounds.map((name, i) =>
    planColumn(fields, name, "confound", `options.confounds[${i}]`, context)
  );
  const featureList = featureListOf(fields.names, features, confounds);
  if (featureList.length === 0) {
    throw new TypeError(
      `Cannot ${context} as the input must have at least one column besides the confounds (or pass options.features): current columns are ${
        listNames(fields.names)
      }`,
    );
  }
  const featurePlans = featureList.map((name, i) =>
    planColumn(
      fields,
      name,
      "feature",
      features === undefined
        ? `feature column "${name}" (by default every non-confound column; pass options.features to choose)`
        : `options.features[${i}]`,
      context,
    )
  );
  const featureColumns = featurePlans.map((plan) => plan.column);
  const confoundColumns = confoundPlans.map((plan) => plan.column);
  const columns: ColumnarColumns = Object.freeze({
    features: Object.freeze(featureNames(featureColumns)),
    confounds: Object.freeze(confoundColumns.map((column) => column.name)),
  });
  return {
    features: featureColumns,
    confounds: confoundColumns,
    columns,
    featureFields: featurePlans.map((plan) => plan.field),
    confoundFields: confoundPlans.map((plan) => plan.field),
  };
}

/**
 * Selects and checks the feature and confound columns of an Arrow schema.
 *
 * @param arrow The apache-arrow module.
 * @param schema The input's schema.
 * @param features The feature names, or undefined for every non-confound column.
 * @param confounds The confound names.
 * @param context What was being done, for messages.
 * @returns The plan.
 * @throws {TypeError} As {@linkcode planColumns}.
 */
export function planArrowColumns(
  arrow: ArrowModule,
  schema: Arrow.Schema,
  features: readonly string[] | undefined,
  confounds: readonly string[],
  context: string,
): ArrowColumnPlan {
  const fields: SchemaFields = {
    names: schema.fields.map((field) => field.name),
    typeName: (field) => String(schema.fields[field]!.type),
    widthOf: (field, role) => widthOf(arrow, schema.fields[field]!.type, role),
  };
  return { schema, ...planColumns(fields, features, confounds, context) };
}

/**
 * Checks that a record batch's schema has, for every planned column, the
 * same type at the same place (a stream may carry a new schema).
 *
 * @param schema The batch's schema.
 * @param plan The plan made from the first schema.
 * @param context What was being done, for messages.
 * @throws {TypeError} If a planned column moved or changed type.
 */
export function checkSameColumns(
  schema: Arrow.Schema,
  plan: ArrowColumnPlan,
  context: string,
): void {
  const check = (column: PlannedColumn, field: number) => {
    const actual = schema.fields[field];
    if (actual?.name !== column.name || String(actual.type) !== column.type) {
      throw new TypeError(
        `Cannot ${context} as every record batch must keep column "${column.name}" as ${column.type}: current batch has ${
          actual === undefined ? "no such field" : `${actual.name}: ${String(actual.type)}`
        } at field ${field}`,
      );
    }
  };
  plan.features.forEach((column, i) => check(column, plan.featureFields[i]!));
  plan.confounds.forEach((column, i) => check(column, plan.confoundFields[i]!));
}

/** Per-element validity from a validity bitmap, or undefined when nothing is null. */
function validityOf(data: Arrow.Data): Uint8Array | undefined {
  const bitmap = data.nullBitmap as Uint8Array | undefined;
  if (data.nullCount === 0 || bitmap === undefined || bitmap.length === 0) return undefined;
  const valid = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const bit = data.offset + i;
    valid[i] = (bitmap[bit >> 3]! >> (bit & 7)) & 1;
  }
  return valid;
}

/** Plain numeric values of a Float or Int data, one per element. */
function plainValues(
  arrow: ArrowModule,
  data: Arrow.Data,
  valid: Uint8Array | undefined,
  column: PlannedColumn,
  baseRow: number,
  context: string,
  width: number,
): Float64Array | Float32Array {
  const values = (data.values as ArrayLike<number> & { subarray(a: number, b: number): unknown })
    .subarray(
      0,
      data.length,
    );
  if (arrow.DataType.isFloat(data.type)) {
    if ((data.type as Arrow.Float).precision === arrow.Precision.HALF) {
      return float16ToFloat64(values as Uint16Array);
    }
    return values as Float64Array | Float32Array;
  }
  if ((data.type as Arrow.Int).bitWidth === 64) {
    return bigIntsToFloat64(
      values as unknown as BigInt64Array,
      valid,
      column,
      baseRow,
      context,
      width,
    );
  }
  return Float64Array.from(values as ArrayLike<number>);
}

/** A dictionary's values as float64, marking entries too wide to convert (checked only when used). */
function dictionaryValues(
  arrow: ArrowModule,
  dictionary: Arrow.Vector,
): { values: Float64Array; valid: Uint8Array; wide: Map<number, bigint> } {
  const values = new Float64Array(dictionary.length);
  const valid = new Uint8Array(dictionary.length);
  const wide = new Map<number, bigint>();
  let at = 0;
  for (const data of dictionary.data) {
    const mask = validityOf(data);
    const raw = (data.values as ArrayLike<number | bigint> & {
      subarray(a: number, b: number): ArrayLike<number | bigint>;
    })
      .subarray(0, data.length);
    const half = arrow.DataType.isFloat(data.type) &&
      (data.type as Arrow.Float).precision === arrow.Precision.HALF;
    const decoded = half ? float16ToFloat64(raw as Uint16Array) : raw;
    for (let i = 0; i < data.length; i++, at++) {
      valid[at] = mask === undefined ? 1 : mask[i]!;
      const value = decoded[i]!;
      if (typeof value === "bigint") {
        if (value > BigInt(EXACT_INTEGER_LIMIT) || value < -BigInt(EXACT_INTEGER_LIMIT)) {
          wide.set(at, value);
        } else values[at] = Number(value);
      } else {
        values[at] = value;
      }
    }
  }
  return { values, valid, wide };
}

function dictionaryColumn(
  arrow: ArrowModule,
  data: Arrow.Data,
  column: PlannedColumn,
  baseRow: number,
  context: string,
  width: number,
): ColumnValues {
  const dictionary = data.dictionary;
  if (dictionary === undefined) {
    throw new TypeError(
      `Cannot ${context} as column "${column.name}" (${column.type}) must carry its dictionary: current batch has none`,
    );
  }
  const { values, valid: entryValid, wide } = dictionaryValues(arrow, dictionary);
  const indices = data.values as ArrayLike<number | bigint>;
  const rowValid = validityOf(data);
  const out = new Float64Array(data.length);
  let valid: Uint8Array | undefined = rowValid;
  for (let i = 0; i < data.length; i++) {
    if (rowValid !== undefined && rowValid[i] === 0) continue;
    const index = Number(indices[i]!);
    if (!(index >= 0 && index < values.length)) {
      throw new RangeError(
        `Cannot ${context} as column "${column.name}" (${column.type}) must index its dictionary of ${values.length} values: ` +
          `current value is index ${index} at row ${baseRow + Math.floor(i / width)}`,
      );
    }
    const big = wide.get(index);
    if (big !== undefined) {
      bigIntsToFloat64([big], undefined, column, baseRow + Math.floor(i / width), context);
    }
    if (entryValid[index] === 0) {
      valid ??= new Uint8Array(data.length).fill(1);
      valid[i] = 0;
      continue;
    }
    out[i] = values[index]!;
  }
  return { data: out, valid };
}

/** One element per value: a Float, Int or Dictionary data. */
function scalarColumn(
  arrow: ArrowModule,
  data: Arrow.Data,
  column: PlannedColumn,
  baseRow: number,
  context: string,
  width = 1,
): ColumnValues {
  if (arrow.DataType.isDictionary(data.type)) {
    return dictionaryColumn(arrow, data, column, baseRow, context, width);
  }
  const valid = validityOf(data);
  return { data: plainValues(arrow, data, valid, column, baseRow, context, width), valid };
}

/** A fixed-size list: row-major `(rows, width)` values; a row is null if the list or any element is. */
function listColumn(
  arrow: ArrowModule,
  data: Arrow.Data,
  column: PlannedColumn,
  baseRow: number,
  context: string,
): ColumnValues {
  const width = column.width;
  const child = data.children[0]!;
  const values = scalarColumn(
    arrow,
    child.slice(0, data.length * width),
    column,
    baseRow,
    context,
    width,
  );
  const listValid = validityOf(data);
  if (listValid === undefined && values.valid === undefined) return values;
  const valid = listValid ?? new Uint8Array(data.length).fill(1);
  if (values.valid !== undefined) {
    for (let row = 0; row < data.length; row++) {
      for (let k = 0; k < width; k++) {
        if (values.valid[row * width + k] === 0) valid[row] = 0;
      }
    }
  }
  return { data: values.data, valid };
}

/**
 * Reads the planned columns of one record batch.
 *
 * @param arrow The apache-arrow module.
 * @param batch The record batch.
 * @param plan The plan.
 * @param baseRow Input index of the batch's first row.
 * @param context What was being done, for messages.
 * @returns The chunk; Float32 and Float64 columns are views of the batch's buffers.
 * @throws {RangeError} For a 64-bit integer beyond ±2^53 (naming column, row and value).
 */
export function readArrowChunk(
  arrow: ArrowModule,
  batch: Arrow.RecordBatch,
  plan: ArrowColumnPlan,
  baseRow: number,
  context: string,
): ColumnChunk {
  const children = batch.data.children;
  const read = (column: PlannedColumn, field: number): ColumnValues => {
    const data = children[field]!;
    return column.width === 1 && !arrow.DataType.isFixedSizeList(data.type)
      ? scalarColumn(arrow, data, column, baseRow, context)
      : listColumn(arrow, data, column, baseRow, context);
  };
  return {
    rows: batch.numRows,
    features: plan.features.map((column, i) => read(column, plan.featureFields[i]!)),
    confounds: plan.confounds.map((column, i) => read(column, plan.confoundFields[i]!)),
  };
}
