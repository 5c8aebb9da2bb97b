/**
 * Records (one per correlated batch, say) to an Arrow IPC stream that DuckDB,
 * polars, pandas or pyarrow read directly.
 *
 * @module
 */

import type * as Arrow from "apache-arrow";
import { z } from "zod";
import { describeValue } from "../core/errors.ts";
import { parseOptions } from "../core/parse_options.ts";
import { checkSource, openSource, type Source, type SourcePull } from "../stream/source.ts";
import { type ArrowModule, loadArrow } from "./_load_arrow.ts";

/**
 * The type of a column of {@linkcode toArrowIpc}, and the values it takes
 * (`null` or `undefined`, or a missing key, is a null):
 * - `"float64"`: numbers (NaN and ±Infinity kept as they are);
 * - `"int64"`: safe integers or bigints in the int64 range;
 * - `"int32"`: integers in [−2^31, 2^31);
 * - `"bool"`: booleans;
 * - `"utf8"`: strings;
 * - `"float64[]"`: arrays or typed arrays of numbers (an Arrow `List<Float64>`,
 *   such as a flattened correlation tensor).
 */
export type ArrowIpcColumnType = "float64" | "int64" | "int32" | "bool" | "utf8" | "float64[]";

/** One column of the output. */
export interface ArrowIpcColumn {
  /** The column's name (distinct, non-empty). */
  readonly name: string;
  /** Its type. */
  readonly type: ArrowIpcColumnType;
  /**
   * Whether it may hold nulls; a null in a non-nullable column throws.
   * @default {true}
   */
  readonly nullable?: boolean;
}

/** A value of one cell of {@linkcode toArrowIpc}'s input. */
export type ArrowIpcValue =
  | number
  | bigint
  | boolean
  | string
  | null
  | undefined
  | ArrayLike<number>;

/** One input record: a value per declared column (a missing key is a null). */
export type ArrowIpcRecord = Readonly<Record<string, ArrowIpcValue>>;

/** Options of {@linkcode toArrowIpc}. */
export interface ToArrowIpcOptions {
  /** The columns, in order: every key of every record must be one of them. */
  columns: readonly ArrowIpcColumn[];
  /**
   * Records per Arrow record batch. Each record batch is written as soon as
   * it is full (and the last one at the end), so 1 gives a result per record
   * as it arrives, for live monitoring; larger batches are cheaper to read.
   * @default {1024}
   */
  rowsPerBatch?: number;
}

const CONTEXT = "write Arrow IPC";
const TYPES = ["float64", "int64", "int32", "bool", "utf8", "float64[]"] as const;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const optionsSchema = z.strictObject({
  columns: z.array(
    z.strictObject({
      name: z.string().min(1),
      type: z.enum(TYPES),
      nullable: z.boolean().default(true),
    }),
  )
    .min(1)
    .refine((columns) => new Set(columns.map((c) => c.name)).size === columns.length, {
      message: "duplicate column name",
    }),
  rowsPerBatch: z.number().int().positive().max(2 ** 31 - 1).default(1024),
});

const RULES: Record<string, string> = {
  columns: `a non-empty array of { name, type, nullable? } with distinct names and type one of ${
    TYPES.join(", ")
  }`,
  name: "a non-empty string",
  type: TYPES.join(", "),
  nullable: "a boolean",
  rowsPerBatch: "a positive integer below 2^31",
};

type Column = z.output<typeof optionsSchema>["columns"][number];

const TYPE_RULES: Record<ArrowIpcColumnType, string> = {
  float64: "a number",
  int64: "a safe integer or a bigint in the int64 range",
  int32: "an integer in [-2^31, 2^31)",
  bool: "a boolean",
  utf8: "a string",
  "float64[]": "an array or typed array of numbers",
};

function isArrayOfNumbers(value: unknown): value is ArrayLike<number> {
  if (value instanceof Float64Array || value instanceof Float32Array) return true;
  return Array.isArray(value) && value.every((item) => typeof item === "number");
}

/** A cell checked and converted to what apache-arrow's builders take. */
function cell(column: Column, value: unknown, record: number): unknown {
  if (value === null || value === undefined) {
    if (column.nullable) return null;
  } else {
    switch (column.type) {
      case "float64":
        if (typeof value === "number") return value;
        break;
      case "int64":
        if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
        if (typeof value === "bigint" && value >= INT64_MIN && value <= INT64_MAX) return value;
        break;
      case "int32":
        if (
          typeof value === "number" && Number.isInteger(value) && value >= -(2 ** 31) &&
          value < 2 ** 31
        ) return value;
        break;
      case "bool":
        if (typeof value === "boolean") return value;
        break;
      case "utf8":
        if (typeof value === "string") return value;
        break;
      case "float64[]":
        if (isArrayOfNumbers(value)) return Array.from(value);
        break;
    }
  }
  const rule = column.nullable ? `${TYPE_RULES[column.type]} or null` : TYPE_RULES[column.type];
  throw new TypeError(
    `Cannot ${CONTEXT} as record ${record} column "${column.name}" (${column.type}) must be ${rule}: current value is ${
      describeValue(value)
    }`,
  );
}

function checkKeys(
  record: unknown,
  names: ReadonlySet<string>,
  index: number,
): Record<string, unknown> {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    throw new TypeError(
      `Cannot ${CONTEXT} as record ${index} must be an object of column values: current value is ${
        describeValue(record)
      }`,
    );
  }
  for (const key of Object.keys(record)) {
    if (!names.has(key)) {
      throw new TypeError(
        `Cannot ${CONTEXT} as record ${index} must only have the declared columns (${
          [...names].join(", ")
        }): current value has ${JSON.stringify(key)}`,
      );
    }
  }
  return record as Record<string, unknown>;
}

function arrowType(arrow: ArrowModule, type: ArrowIpcColumnType): Arrow.DataType {
  switch (type) {
    case "float64":
      return new arrow.Float64();
    case "int64":
      return new arrow.Int64();
    case "int32":
      return new arrow.Int32();
    case "bool":
      return new arrow.Bool();
    case "utf8":
      return new arrow.Utf8();
    case "float64[]":
      return new arrow.List(new arrow.Field("item", new arrow.Float64(), false));
  }
}

/** Serialises record batches as one IPC stream: the schema once, then each batch, then the end marker. */
class StreamFramer {
  readonly #arrow: ArrowModule;
  readonly #schema: Arrow.Schema;
  #schemaBytes: Uint8Array | undefined;

  constructor(arrow: ArrowModule, schema: Arrow.Schema) {
    this.#arrow = arrow;
    this.#schema = schema;
  }

  /** The schema message (and nothing else) of a serialised stream. */
  static schemaLength(bytes: Uint8Array): number {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Encapsulated message: 0xFFFFFFFF continuation, int32 metadata length, metadata; a schema has no body.
    if (bytes.byteLength < 16 || view.getInt32(0, true) !== -1) {
      throw new Error("apache-arrow wrote an unexpected IPC stream prefix");
    }
    return 8 + view.getInt32(4, true);
  }

  /** The bytes of one record batch message, preceded by the schema the first time. */
  encode(batch: Arrow.RecordBatch): Uint8Array {
    const bytes = this.#arrow.tableToIPC(new this.#arrow.Table(batch), "stream");
    const schemaLength = StreamFramer.schemaLength(bytes);
    const end = bytes.byteLength - 8;
    if (new DataView(bytes.buffer, bytes.byteOffset + end, 8).getInt32(0, true) !== -1) {
      throw new Error("apache-arrow wrote an IPC stream without its end-of-stream marker");
    }
    if (this.#schemaBytes === undefined) {
      this.#schemaBytes = bytes.slice(0, schemaLength);
      return bytes.slice(0, end);
    }
    return bytes.slice(schemaLength, end);
  }

  /** The end: the schema too when no batch was written, then the end-of-stream marker. */
  finish(): Uint8Array {
    if (this.#schemaBytes === undefined) {
      return this.#arrow.tableToIPC(new this.#arrow.Table(this.#schema), "stream");
    }
    return new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  }
}

function recordBatch(
  arrow: ArrowModule,
  schema: Arrow.Schema,
  columns: readonly Column[],
  cells: unknown[][],
): Arrow.RecordBatch {
  const children = columns.map((_, c) => {
    const vector = arrow.vectorFromArray(cells[c]!, schema.fields[c]!.type);
    return vector.data.length === 1 ? vector.data[0]! : arrow.makeVector(vector.data).data[0]!;
  });
  const length = cells[0]!.length;
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length,
    nullCount: 0,
    children,
  });
  return new arrow.RecordBatch(schema, data);
}

/**
 * Writes records as an Arrow IPC stream, a record batch of `rowsPerBatch`
 * records at a time, pulling records only as the stream is read
 * (backpressure). The schema comes from `columns`; every record is checked
 * against it (a missing key is a null; an unknown key, a value of the wrong
 * type, or a null in a non-nullable column throws, erroring the stream and
 * releasing the source). apache-arrow (an optional peer dependency) is
 * imported when the stream starts.
 *
 * @param records The records, as an AsyncIterable, an Iterable or a ReadableStream.
 * @param options The columns and the batch size.
 * @returns A stream of the IPC bytes: write it to a file (`.arrows`) or pipe it
 * (`pyarrow.ipc.open_stream`, `polars.read_ipc_stream`, DuckDB's `read_arrow`).
 * @throws {TypeError} Immediately, for a bad source or option; through the
 * stream, for a record that does not fit the columns.
 * @throws {BatchCorrError} Through the stream, `"peer_missing"` when
 * apache-arrow is not installed, naming the install commands.
 *
 * @example Per-batch results as Arrow
 * ```ts
 * import { toArrowIpc } from "@streamcorr/batch-corr/arrow";
 * import { tableFromIPC } from "apache-arrow";
 * import assert from "node:assert/strict";
 *
 * const results = [
 *   { index: 0, loss: 0.12, alert: false },
 *   { index: 1, loss: 0.31, alert: true, reason: "drift" },
 * ];
 * const stream = toArrowIpc(results, {
 *   columns: [
 *     { name: "index", type: "int64", nullable: false },
 *     { name: "loss", type: "float64" },
 *     { name: "alert", type: "bool" },
 *     { name: "reason", type: "utf8" },
 *   ],
 * });
 * const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
 * const table = tableFromIPC(bytes);
 * assert.equal(table.numRows, 2);
 * assert.deepEqual(table.getChild("loss")?.toArray(), new Float64Array([0.12, 0.31]));
 * assert.equal(table.getChild("reason")?.get(0), null);
 * ```
 */
export function toArrowIpc(
  records: Source<ArrowIpcRecord>,
  options: ToArrowIpcOptions,
): ReadableStream<Uint8Array> {
  checkSource(records, "records", CONTEXT);
  const { columns, rowsPerBatch } = parseOptions(optionsSchema, options, CONTEXT, RULES);
  const names = new Set(columns.map((column) => column.name));
  let pull: SourcePull<ArrowIpcRecord> | undefined;
  let arrow: ArrowModule;
  let schema: Arrow.Schema;
  let framer: StreamFramer;
  let index = 0;
  let done = false;
  const release = async () => {
    if (!done) await pull?.cancel().catch(() => {});
    done = true;
  };
  return new ReadableStream<Uint8Array>({
    async start() {
      arrow = await loadArrow();
      schema = new arrow.Schema(
        columns.map((column) =>
          new arrow.Field(column.name, arrowType(arrow, column.type), column.nullable)
        ),
      );
      framer = new StreamFramer(arrow, schema);
      pull = openSource(records);
    },
    async pull(controller) {
      const cells: unknown[][] = columns.map(() => []);
      try {
        while (cells[0]!.length < rowsPerBatch) {
          const next = await pull!.next();
          if (next.done) {
            done = true;
            break;
          }
          const record = checkKeys(next.value, names, index);
          columns.forEach((column, c) => cells[c]!.push(cell(column, record[column.name], index)));
          index++;
        }
      } catch (error) {
        await release();
        throw error;
      }
      if (cells[0]!.length > 0) {
        controller.enqueue(framer.encode(recordBatch(arrow, schema, columns, cells)));
      }
      if (done) {
        controller.enqueue(framer.finish());
        controller.close();
      }
    },
    cancel: release,
  }, { highWaterMark: 0 });
}
