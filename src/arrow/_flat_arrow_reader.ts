/**
 * Arrow IPC without apache-arrow, for the common case of an ingestion
 * pipeline: top-level Float64/Float32 columns, uncompressed, beside other
 * flat columns. The columns are views of the message bodies. Anything else
 * (dictionaries, nested or other selected types, compression, big-endian or
 * pre-1.0 framing) is handed back, bytes and all, for apache-arrow to read.
 *
 * @module
 */

import { featureListOf, type FieldColumnPlan, planColumns } from "./_arrow_columns.ts";
import {
  ArrowTypeId,
  type ByteQueue,
  IpcFormatError,
  type IpcMessage,
  type IpcRecordBatch,
  type IpcSchema,
  readIpcMessage,
} from "./_ipc_messages.ts";
import type { ColumnChunk, ColumnValues } from "./columnar_batcher.ts";

/** Metadata version V4, the oldest whose layout this reader knows. */
const V4 = 3;

const TWO_BUFFERS: ReadonlySet<number> = new Set([
  ArrowTypeId.Int,
  ArrowTypeId.FloatingPoint,
  ArrowTypeId.Bool,
  ArrowTypeId.Decimal,
  ArrowTypeId.Date,
  ArrowTypeId.Time,
  ArrowTypeId.Timestamp,
  ArrowTypeId.Interval,
  ArrowTypeId.FixedSizeBinary,
  ArrowTypeId.Duration,
]);
const THREE_BUFFERS: ReadonlySet<number> = new Set([
  ArrowTypeId.Binary,
  ArrowTypeId.Utf8,
  ArrowTypeId.LargeBinary,
  ArrowTypeId.LargeUtf8,
]);

/** Bytes per value of a flat float column: 4 (Float32), 8 (Float64), or 0 for any other type. */
function floatBytes(schema: IpcSchema, field: number): number {
  const info = schema.fields[field]!;
  if (info.typeId !== ArrowTypeId.FloatingPoint || info.dictionary) return 0;
  return info.precision === 2 ? 8 : info.precision === 1 ? 4 : 0;
}

/** Where each field's buffers start, or undefined when a field's layout is not flat. */
function bufferStarts(schema: IpcSchema): number[] | undefined {
  const starts: number[] = [];
  let next = 0;
  for (const field of schema.fields) {
    if (field.dictionary || field.children > 0) return undefined;
    starts.push(next);
    if (TWO_BUFFERS.has(field.typeId)) next += 2;
    else if (THREE_BUFFERS.has(field.typeId)) next += 3;
    else return undefined;
  }
  starts.push(next);
  return starts;
}

/** Whether each selected column names one Float64/Float32 field. */
function selectsFloats(
  schema: IpcSchema,
  features: readonly string[] | undefined,
  confounds: readonly string[],
): boolean {
  const names = schema.fields.map((field) => field.name);
  const selected = [...featureListOf(names, features, confounds), ...confounds];
  return selected.length > confounds.length && selected.every((name) => {
    const index = names.indexOf(name);
    return index !== -1 && names.indexOf(name, index + 1) === -1 && floatBytes(schema, index) > 0;
  });
}

/** What a flat read hands back: the rest of the input as bytes, for apache-arrow. */
export interface FlatFallback {
  kind: "fallback";
  /** The input from the message apache-arrow must start at (the schema first). */
  replay: AsyncIterable<Uint8Array>;
}

/** One step of a flat read. */
export type FlatStep = { kind: "chunk"; chunk: ColumnChunk; body: Uint8Array } | {
  kind: "end";
} | FlatFallback;

async function* replayOf(
  head: readonly Uint8Array[],
  queue: ByteQueue,
): AsyncGenerator<Uint8Array> {
  yield* head;
  yield* queue.rest();
}

/** A flat Arrow IPC stream: its plan, then one column chunk per record batch. */
export class FlatArrowReader {
  /** The selected columns. */
  readonly plan: FieldColumnPlan;
  readonly #queue: ByteQueue;
  readonly #schemaBytes: readonly Uint8Array[];
  readonly #starts: readonly number[];
  readonly #widths: ReadonlyMap<number, number>;

  private constructor(
    queue: ByteQueue,
    schema: IpcSchema,
    starts: number[],
    plan: FieldColumnPlan,
  ) {
    this.#queue = queue;
    this.#schemaBytes = queue.takeRecorded();
    this.#starts = starts;
    this.plan = plan;
    const fields = [...plan.featureFields, ...plan.confoundFields];
    this.#widths = new Map(fields.map((field) => [field, floatBytes(schema, field)]));
  }

  /**
   * Reads the schema message and plans the columns, or hands the input back
   * when it is not flat (a cut or foreign input included, so that apache-arrow
   * names what is wrong with it).
   *
   * @param queue The input, from its first message.
   * @param features The feature names, or undefined for every non-confound column.
   * @param confounds The confound names.
   * @param context What was being done, for messages.
   */
  static async open(
    queue: ByteQueue,
    features: readonly string[] | undefined,
    confounds: readonly string[],
    context: string,
  ): Promise<FlatArrowReader | FlatFallback> {
    let message: Awaited<ReturnType<typeof readIpcMessage>>;
    try {
      message = await readIpcMessage(queue);
    } catch (error) {
      if (error instanceof IpcFormatError) message = undefined;
      else throw error;
    }
    const schema = message !== undefined && message !== "legacy" && message.kind === "schema" &&
        message.version >= V4
      ? message.schema
      : undefined;
    const starts = schema?.littleEndian ? bufferStarts(schema) : undefined;
    if (
      schema === undefined || starts === undefined || !selectsFloats(schema, features, confounds)
    ) {
      return { kind: "fallback", replay: replayOf(queue.takeRecorded(), queue) };
    }
    const fields = {
      names: schema.fields.map((field) => field.name),
      typeName: (field: number) => (floatBytes(schema, field) === 8 ? "Float64" : "Float32"),
      widthOf: () => 1,
    };
    return new FlatArrowReader(
      queue,
      schema,
      starts,
      planColumns(fields, features, confounds, context),
    );
  }

  /**
   * The next record batch's columns, the end, or the input handed back at a
   * record batch that is not flat (compressed).
   *
   * @throws {IpcFormatError} For a message cut short or corrupt.
   */
  async next(): Promise<FlatStep> {
    const message = await readIpcMessage(this.#queue);
    if (message === undefined) return { kind: "end" };
    if (message === "legacy") {
      throw new IpcFormatError(
        "every message after the schema must start with the continuation marker 0xFFFFFFFF",
      );
    }
    if (message.kind !== "record-batch") {
      throw new IpcFormatError(
        `only record batches may follow the schema of a stream without dictionaries: found ${
          describeMessage(message)
        }`,
      );
    }
    const batch = message.batch;
    if (batch.compressed || batch.variadicBuffers) {
      const head = [...this.#schemaBytes, ...message.raw];
      return { kind: "fallback", replay: replayOf(head, this.#queue) };
    }
    return { kind: "chunk", chunk: this.#chunkOf(batch, message.body), body: message.body };
  }

  #chunkOf(batch: IpcRecordBatch, body: Uint8Array): ColumnChunk {
    const fieldCount = this.#starts.length - 1;
    const bufferCount = this.#starts[fieldCount]!;
    if (batch.nodes.length !== fieldCount || batch.buffers.length !== bufferCount) {
      throw new IpcFormatError(
        `a record batch of this schema must have ${fieldCount} field nodes and ${bufferCount} buffers: found ${batch.nodes.length} and ${batch.buffers.length}`,
      );
    }
    const read = (field: number) => this.#column(batch, body, field);
    return {
      rows: batch.length,
      features: this.plan.featureFields.map(read),
      confounds: this.plan.confoundFields.map(read),
    };
  }

  #column(batch: IpcRecordBatch, body: Uint8Array, field: number): ColumnValues {
    const rows = batch.length;
    const node = batch.nodes[field]!;
    const bytes = this.#widths.get(field)!;
    if (node.length !== rows || node.nullCount > rows) {
      throw new IpcFormatError(
        `field ${field} of a record batch of ${rows} rows must have ${rows} values and at most as many nulls: found ${node.length} and ${node.nullCount}`,
      );
    }
    const start = this.#starts[field]!;
    const values = bufferOf(body, batch.buffers[start + 1]!, rows * bytes, field);
    const data = bytes === 8 ? float64View(values, rows) : float32View(values, rows);
    if (node.nullCount === 0) return { data, valid: undefined };
    const bitmap = bufferOf(body, batch.buffers[start]!, Math.ceil(rows / 8), field);
    const valid = new Uint8Array(rows);
    for (let i = 0; i < rows; i++) valid[i] = (bitmap[i >> 3]! >> (i & 7)) & 1;
    return { data, valid };
  }
}

/** A message that may not follow the schema, in words. */
function describeMessage(message: Exclude<IpcMessage, { kind: "record-batch" }>): string {
  if (message.kind === "schema") return "a second schema";
  return message.headerType === 2
    ? "a dictionary batch"
    : `a message of header type ${message.headerType}`;
}

function bufferOf(
  body: Uint8Array,
  buffer: { offset: number; length: number },
  needed: number,
  field: number,
): Uint8Array {
  if (buffer.offset + buffer.length > body.length || buffer.length < needed) {
    throw new IpcFormatError(
      `a buffer of field ${field} must hold ${needed} bytes within the body of ${body.length}: found ${buffer.length} bytes at ${buffer.offset}`,
    );
  }
  return body.subarray(buffer.offset, buffer.offset + needed);
}

/** A view where the bytes are aligned, else a copy. */
function float64View(bytes: Uint8Array, rows: number): Float64Array {
  if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, rows);
  return new Float64Array(bytes.slice().buffer, 0, rows);
}

function float32View(bytes: Uint8Array, rows: number): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, rows);
  return new Float32Array(bytes.slice().buffer, 0, rows);
}
