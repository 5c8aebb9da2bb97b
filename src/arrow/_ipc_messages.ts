/**
 * Arrow IPC messages, read one at a time from byte chunks without
 * apache-arrow: the framing (continuation marker, metadata length, body) and
 * the parts of the Schema and RecordBatch metadata that a flat float column
 * needs.
 *
 * @module
 */

import { FlatbufferError, FlatTable, readInt64 } from "./_flatbuffer.ts";

const CONTINUATION = 0xffffffff;
/** Metadata larger than this is not a message header but corrupt input. */
const MAX_METADATA = 1 << 26;

/** The type ids of the Arrow `Type` union that the flat reader tells apart. */
export const ArrowTypeId = {
  Int: 2,
  FloatingPoint: 3,
  Binary: 4,
  Utf8: 5,
  Bool: 6,
  Decimal: 7,
  Date: 8,
  Time: 9,
  Timestamp: 10,
  Interval: 11,
  FixedSizeBinary: 15,
  Duration: 18,
  LargeBinary: 19,
  LargeUtf8: 20,
} as const;

/** One field of a schema, as far as the flat reader looks. */
export interface IpcField {
  name: string;
  typeId: number;
  /** For FloatingPoint: 0 half, 1 single, 2 double. */
  precision: number;
  dictionary: boolean;
  children: number;
}

/** A schema message. */
export interface IpcSchema {
  littleEndian: boolean;
  fields: IpcField[];
}

/** A record batch message's metadata. */
export interface IpcRecordBatch {
  length: number;
  nodes: { length: number; nullCount: number }[];
  buffers: { offset: number; length: number }[];
  compressed: boolean;
  variadicBuffers: boolean;
}

/** One framed message: its kind, metadata, body, and its raw bytes for a replay. */
export type IpcMessage =
  & { version: number; body: Uint8Array; raw: Uint8Array[] }
  & (
    | { kind: "schema"; schema: IpcSchema }
    | { kind: "record-batch"; batch: IpcRecordBatch }
    | { kind: "other"; headerType: number }
  );

/** Why a message could not be read: truncated or corrupt bytes. */
export class IpcFormatError extends Error {
  /** @param message What was wrong. */
  constructor(message: string) {
    super(message);
    this.name = "IpcFormatError";
  }
}

/**
 * Exact-length reads over byte chunks: a read within one chunk is a view of
 * it, one across chunks a copy.
 */
export class ByteQueue {
  readonly #pull: (wanted: number | undefined) => Promise<Uint8Array | undefined>;
  #chunk: Uint8Array = new Uint8Array(0);
  #at = 0;
  #ended = false;
  /** Every byte read, kept while the input may still go to apache-arrow whole. */
  #recorded: Uint8Array[] | undefined = [];

  /**
   * @param pull The next chunk, or undefined at the end. `wanted` is how many
   * bytes the read in hand still needs (undefined when any amount will do): a
   * source that can read exactly that (a file) gives a message body its own
   * buffer, which is then returned as it is, not copied.
   */
  constructor(pull: (wanted: number | undefined) => Promise<Uint8Array | undefined>) {
    this.#pull = pull;
  }

  /** Up to `length` bytes: fewer only at the end of the input. */
  async read(length: number): Promise<Uint8Array> {
    const bytes = await this.#read(length);
    this.#recorded?.push(bytes);
    return bytes;
  }

  /** The bytes read so far (the input is no longer recorded afterwards). */
  takeRecorded(): Uint8Array[] {
    const recorded = this.#recorded ?? [];
    this.#recorded = undefined;
    return recorded;
  }

  /** The bytes not read yet, as chunks. */
  async *rest(): AsyncGenerator<Uint8Array> {
    if (this.#at < this.#chunk.length) yield this.#take(this.#chunk.length - this.#at);
    while (!this.#ended) {
      const next = await this.#pull(undefined);
      if (next === undefined) this.#ended = true;
      else yield next;
    }
  }

  async #read(length: number): Promise<Uint8Array> {
    if (this.#chunk.length - this.#at >= length) return this.#take(length);
    // The parts are joined only once all have come, so a corrupt length allocates nothing it cannot fill.
    const parts: Uint8Array[] = [];
    let filled = 0;
    for (;;) {
      const part = this.#take(Math.min(length - filled, this.#chunk.length - this.#at));
      if (part.length > 0) parts.push(part);
      filled += part.length;
      if (filled === length || this.#ended) {
        return parts.length === 1 ? parts[0]! : join(parts, filled);
      }
      const next = await this.#pull(length - filled);
      if (next === undefined) this.#ended = true;
      else {
        this.#chunk = next;
        this.#at = 0;
      }
    }
  }

  #take(length: number): Uint8Array {
    const part = this.#chunk.subarray(this.#at, this.#at + length);
    this.#at += length;
    return part;
  }
}

function join(parts: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Reads the next message, or undefined at the end-of-stream marker or at the
 * end of the input between two messages.
 *
 * @param queue The input.
 * @returns The message, `undefined` at the end, or `"legacy"` for a message
 * without the continuation marker (the pre-1.0 framing, left to apache-arrow).
 * @throws {IpcFormatError} For a message cut short or with corrupt metadata.
 */
export async function readIpcMessage(
  queue: ByteQueue,
): Promise<IpcMessage | "legacy" | undefined> {
  const prefix = await queue.read(8);
  if (prefix.length === 0) return undefined;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.length);
  if (prefix.length >= 4 && view.getUint32(0, true) !== CONTINUATION) return "legacy";
  if (prefix.length < 8) {
    throw new IpcFormatError(
      `Expected to read 8 message prefix bytes, but only read ${prefix.length}`,
    );
  }
  const metadataLength = view.getInt32(4, true);
  if (metadataLength === 0) return undefined;
  if (metadataLength < 0 || metadataLength > MAX_METADATA) {
    throw new IpcFormatError(
      `a message's metadata length must be in [0, 2^26]: found ${metadataLength}`,
    );
  }
  const metadata = await queue.read(metadataLength);
  if (metadata.length < metadataLength) {
    throw new IpcFormatError(
      `Expected to read ${metadataLength} metadata bytes, but only read ${metadata.length}`,
    );
  }
  const message = parseMessage(new DataView(metadata.buffer, metadata.byteOffset, metadata.length));
  const body = await queue.read(message.bodyLength);
  if (body.length < message.bodyLength) {
    throw new IpcFormatError(
      `Expected to read ${message.bodyLength} body bytes, but only read ${body.length}`,
    );
  }
  return { ...message.header, version: message.version, body, raw: [prefix, metadata, body] };
}

function parseMessage(view: DataView) {
  try {
    const root = FlatTable.root(view);
    const version = root.int16(0, 0);
    const headerType = root.uint8(1, 0);
    const header = root.table(2);
    const bodyLength = root.int64(3, 0);
    if (header === undefined) throw new FlatbufferError("a message must have a header");
    if (headerType === 1) {
      return {
        version,
        bodyLength,
        header: { kind: "schema", schema: parseSchema(header) } as const,
      };
    }
    if (headerType === 3) {
      return {
        version,
        bodyLength,
        header: { kind: "record-batch", batch: parseRecordBatch(header) } as const,
      };
    }
    return { version, bodyLength, header: { kind: "other", headerType } as const };
  } catch (error) {
    if (error instanceof FlatbufferError) {
      throw new IpcFormatError(`corrupt message metadata: ${error.message}`);
    }
    throw error;
  }
}

function parseSchema(table: FlatTable): IpcSchema {
  return {
    littleEndian: table.int16(0, 0) === 0,
    fields: table.tables(1).map((field) => {
      const typeId = field.uint8(2, 0);
      const type = field.table(3);
      return {
        name: field.string(0) ?? "",
        typeId,
        precision: typeId === ArrowTypeId.FloatingPoint && type !== undefined
          ? type.int16(0, 0)
          : -1,
        dictionary: field.table(4) !== undefined,
        children: field.tables(5).length,
      };
    }),
  };
}

function parseRecordBatch(table: FlatTable): IpcRecordBatch {
  const pairs = (index: number) => {
    const { view, starts } = table.structs(index, 16);
    return starts.map((at) => [readInt64(view, at), readInt64(view, at + 8)] as const);
  };
  return {
    length: table.int64(0, 0),
    nodes: pairs(1).map(([length, nullCount]) => ({ length, nullCount })),
    buffers: pairs(2).map(([offset, length]) => ({ offset, length })),
    compressed: table.table(3) !== undefined,
    variadicBuffers: table.structs(4, 8).starts.length > 0,
  };
}
