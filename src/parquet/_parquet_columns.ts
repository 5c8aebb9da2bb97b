/**
 * Parquet schemas to column plans: which physical and logical types read
 * exactly as numbers, named in messages as Parquet names them.
 *
 * @module
 */

import type { FileMetaData, SchemaElement, SchemaTree } from "hyparquet";
import type { ColumnPlan, PlannedColumn } from "../arrow/columnar_batcher.ts";

/** The types a Parquet column may have, in words. */
export const PARQUET_TYPE_RULE =
  "a flat numeric Parquet column: DOUBLE, FLOAT, FLOAT16, or INT32/INT64 " +
  "(plain or with an INTEGER logical type)";

/** How Parquet names a column's type: the physical type and its logical (or converted) type. */
export function describeParquetType(element: SchemaElement, nested: boolean): string {
  if (nested) {
    const kind = element.logical_type?.type ?? element.converted_type;
    return kind === undefined ? "a group" : `a group (${kind})`;
  }
  const physical = element.type ?? "unknown";
  const logical = element.logical_type;
  if (logical !== undefined) {
    if (logical.type === "DECIMAL") {
      return `${physical} (DECIMAL(${logical.precision}, ${logical.scale}))`;
    }
    if (logical.type === "INTEGER") {
      return `${physical} (INTEGER(${logical.bitWidth}, ${
        logical.isSigned ? "signed" : "unsigned"
      }))`;
    }
    if (logical.type === "TIMESTAMP" || logical.type === "TIME") {
      return `${physical} (${logical.type}(${logical.unit}))`;
    }
    return `${physical} (${logical.type})`;
  }
  return element.converted_type === undefined
    ? physical
    : `${physical} (${element.converted_type})`;
}

const INTEGER_CONVERTED = new Set([
  "INT_8",
  "INT_16",
  "INT_32",
  "INT_64",
  "UINT_8",
  "UINT_16",
  "UINT_32",
  "UINT_64",
]);

/** Whether a leaf column reads exactly as numbers. */
function isNumeric(element: SchemaElement): boolean {
  if (element.repetition_type === "REPEATED") return false;
  const logical = element.logical_type;
  switch (element.type) {
    case "DOUBLE":
    case "FLOAT":
      return logical === undefined && element.converted_type === undefined;
    case "INT32":
    case "INT64":
      if (logical !== undefined) return logical.type === "INTEGER";
      return element.converted_type === undefined || INTEGER_CONVERTED.has(element.converted_type);
    case "FIXED_LEN_BYTE_ARRAY":
      return logical?.type === "FLOAT16";
    default:
      return false;
  }
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 20).join(", ");
  return names.length > 20 ? `${shown}, … (${names.length} columns)` : shown;
}

function planColumn(
  children: readonly SchemaTree[],
  name: string,
  role: "feature" | "confound",
  subject: string,
  context: string,
): PlannedColumn {
  const names = children.map((child) => child.element.name);
  const matches = children.filter((child) => child.element.name === name);
  if (matches.length !== 1) {
    throw new TypeError(
      matches.length === 0
        ? `Cannot ${context} as ${subject} must name a column of the file (${
          listNames(names)
        }): current value is ${JSON.stringify(name)}`
        : `Cannot ${context} as ${subject} must name exactly one column of the file: current value is ${
          JSON.stringify(name)
        }, which names several`,
    );
  }
  const tree = matches[0]!;
  const nested = tree.children.length > 0;
  const type = describeParquetType(tree.element, nested);
  if (nested || !isNumeric(tree.element)) {
    throw new TypeError(
      `Cannot ${context} as column "${name}" (a ${role}) must be ${PARQUET_TYPE_RULE}: current type is ${type}`,
    );
  }
  return { name, type, width: 1 };
}

/**
 * Selects and checks the feature and confound columns of a Parquet schema.
 *
 * @param schema The file's schema tree (hyparquet's `parquetSchema`).
 * @param features The feature names, or undefined for every non-confound column.
 * @param confounds The confound names.
 * @param context What was being done, for messages.
 * @returns The plan.
 * @throws {TypeError} For a name that is not a top-level column, or a column
 * of a type that cannot be read exactly as numbers, naming the column and its
 * Parquet type.
 */
export function planParquetColumns(
  schema: SchemaTree,
  features: readonly string[] | undefined,
  confounds: readonly string[],
  context: string,
): ColumnPlan {
  const children = schema.children;
  const confoundColumns = confounds.map((name, i) =>
    planColumn(children, name, "confound", `options.confounds[${i}]`, context)
  );
  const taken = new Set(confounds);
  const featureList = features ??
    children.map((child) => child.element.name).filter((name) => !taken.has(name));
  if (featureList.length === 0) {
    throw new TypeError(
      `Cannot ${context} as the file must have at least one column besides the confounds (or pass options.features): current columns are ${
        listNames(children.map((child) => child.element.name))
      }`,
    );
  }
  const featureColumns = featureList.map((name, i) =>
    planColumn(
      children,
      name,
      "feature",
      features === undefined
        ? `feature column "${name}" (by default every non-confound column; pass options.features to choose)`
        : `options.features[${i}]`,
      context,
    )
  );
  return {
    features: featureColumns,
    confounds: confoundColumns,
    columns: Object.freeze({
      features: Object.freeze(featureColumns.map((column) => column.name)),
      confounds: Object.freeze(confoundColumns.map((column) => column.name)),
    }),
  };
}

/** Codecs hyparquet decodes without help. */
const BUILT_IN_CODECS = new Set(["UNCOMPRESSED", "SNAPPY"]);

/**
 * The first selected column chunk compressed with a codec that needs a
 * decompressor the caller did not pass.
 *
 * @param metadata The file's metadata.
 * @param names The selected columns.
 * @param available The codecs of `options.compressors`.
 * @returns The column and codec, or undefined when every chunk can be read.
 */
export function missingCodec(
  metadata: FileMetaData,
  names: ReadonlySet<string>,
  available: ReadonlySet<string>,
): { column: string; codec: string } | undefined {
  for (const group of metadata.row_groups) {
    for (const chunk of group.columns) {
      const column = chunk.meta_data?.path_in_schema[0];
      const codec = chunk.meta_data?.codec;
      if (column === undefined || codec === undefined || !names.has(column)) continue;
      if (!BUILT_IN_CODECS.has(codec) && !available.has(codec)) return { column, codec };
    }
  }
  return undefined;
}
