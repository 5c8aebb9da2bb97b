/**
 * A flat float column chunk read a slice of rows at a time, for readers that
 * finish each batch before asking for the next: only one Snappy fragment
 * (64 KiB) of each column is held decoded, where a whole row group's columns
 * would otherwise be (on the machines measured, the first touch of fresh
 * memory costs more than decoding into it). It takes the chunks the whole-chunk
 * fast path takes, but only with PLAIN data pages, and only Snappy streams in
 * independent 64 KiB fragments, as the reference compressor writes them; a
 * page of any other kind makes {@linkcode StreamedFloatColumn.fill} return
 * false, and the caller reads the chunk whole instead.
 *
 * @module
 */

import type { ColumnMetaData, SchemaElement } from "hyparquet";
import { allDefined, isFlatFloatChunk } from "./_flat_float_column.ts";
import { type DataPageFields, type PageHeaderFields, readPageHeader } from "./_page_header.ts";
import { SNAPPY_FRAGMENT, snappyFragment, snappyPreamble } from "./_snappy.ts";

/** Bytes `[start, end)` of the file, valid until the next call. */
export type FileRangeRead = (start: number, end: number) => Promise<Uint8Array>;

/** Snappy's bound on the compressed size of one fragment: 32 + n + n/6. */
const FRAGMENT_INPUT = 32 + SNAPPY_FRAGMENT + Math.ceil(SNAPPY_FRAGMENT / 6);
/**
 * A page header is read with this many bytes first (enough for the page's
 * first fragment as well), then 8 times more while it does not fit.
 */
const HEADER_BYTES = (1 << 10) + FRAGMENT_INPUT;
const MAX_HEADER_BYTES = 1 << 22;

/**
 * Whether a chunk may be streamed: the whole-chunk fast path's conditions,
 * and no dictionary.
 *
 * @param element The column's schema element.
 * @param meta The chunk's metadata.
 * @returns True when {@linkcode StreamedFloatColumn} may take it.
 */
export function isStreamableChunk(element: SchemaElement, meta: ColumnMetaData): boolean {
  return isFlatFloatChunk(element, meta) &&
    !meta.encodings.some((encoding) =>
      encoding === "PLAIN_DICTIONARY" || encoding === "RLE_DICTIONARY"
    );
}

/** Where a column chunk lies in the file and what it holds. */
export interface StreamedChunk {
  /** The file offset of its first page header. */
  start: number;
  /** One past its last byte. */
  end: number;
  meta: ColumnMetaData;
  element: SchemaElement;
  /** The rows of its row group. */
  rows: number;
}

/** A column chunk delivered in order, a slice of values at a time. */
export class StreamedFloatColumn {
  readonly #read: FileRangeRead;
  readonly #end: number;
  readonly #snappy: boolean;
  readonly #optional: boolean;
  readonly #width: number;
  /** The next page header's file offset. */
  #next: number;
  /** Values of the chunk no page has covered yet. */
  #rowsLeft: number;
  /** Value bytes of the current page not yet delivered. */
  #pageBytes = 0;
  /** The current page's next unread byte (raw value or Snappy element) and its end. */
  #in = 0;
  #inEnd = 0;
  /** Whether the current page's values are a Snappy stream, and its bytes still to decode. */
  #compressed = false;
  #streamLeft = 0;
  /** The current fragment (Snappy) or run of raw value bytes, and the read position in it. */
  #block: Uint8Array | undefined;
  #blockAt = 0;
  #blockLength = 0;

  /**
   * @param read Reads of the file.
   * @param chunk The chunk.
   */
  constructor(read: FileRangeRead, chunk: StreamedChunk) {
    this.#read = read;
    this.#end = chunk.end;
    this.#next = chunk.start;
    this.#rowsLeft = chunk.rows;
    this.#snappy = chunk.meta.codec === "SNAPPY";
    this.#optional = chunk.element.repetition_type === "OPTIONAL";
    this.#width = chunk.meta.type === "DOUBLE" ? 8 : 4;
  }

  /** Whether values are Float64 (else Float32). */
  get double(): boolean {
    return this.#width === 8;
  }

  /**
   * Writes the chunk's next `count` values to `out[0..count)`.
   *
   * @param out Where the values go (Float64Array for DOUBLE, Float32Array for FLOAT).
   * @param count How many.
   * @returns False when a page is not of the kinds streamed here, or the
   *   chunk is malformed or ends first; the stream is then unusable.
   */
  async fill(out: Float64Array | Float32Array, count: number): Promise<boolean> {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, count * this.#width);
    let at = 0;
    while (at < bytes.length) {
      if (this.#pageBytes === 0) {
        if (!(await this.#nextPage())) return false;
        continue;
      }
      if (this.#blockAt === this.#blockLength && !(await this.#nextBlock())) return false;
      const take = Math.min(bytes.length - at, this.#blockLength - this.#blockAt, this.#pageBytes);
      bytes.set(this.#block!.subarray(this.#blockAt, this.#blockAt + take), at);
      at += take;
      this.#blockAt += take;
      this.#pageBytes -= take;
    }
    return true;
  }

  /** Decodes the next fragment, or reads the next run of raw value bytes, into the block. */
  async #nextBlock(): Promise<boolean> {
    this.#block ??= new Uint8Array(SNAPPY_FRAGMENT);
    if (!this.#compressed) {
      const length = Math.min(SNAPPY_FRAGMENT, this.#inEnd - this.#in);
      if (length <= 0) return false;
      const run = await this.#read(this.#in, this.#in + length);
      // A source that gives fewer bytes than asked must not leave stale ones in the block.
      if (run.length !== length) return false;
      this.#block.set(run);
      this.#in += length;
      this.#blockAt = 0;
      this.#blockLength = length;
      return true;
    }
    const length = Math.min(SNAPPY_FRAGMENT, this.#streamLeft);
    if (length <= 0) return false;
    const input = await this.#read(this.#in, Math.min(this.#inEnd, this.#in + FRAGMENT_INPUT));
    const used = snappyFragment(input, this.#block, length);
    if (used < 0) return false;
    this.#in += used;
    this.#streamLeft -= length;
    if (this.#streamLeft === 0 && this.#in !== this.#inEnd) return false;
    this.#blockAt = 0;
    this.#blockLength = length;
    return true;
  }

  /** Moves to the next data page, past its levels. */
  async #nextPage(): Promise<boolean> {
    for (;;) {
      if (this.#rowsLeft === 0 || this.#next >= this.#end) return false;
      const found = await this.#readHeader();
      if (found === undefined) return false;
      const { header, payload } = found;
      const pageEnd = payload + header.compressedSize;
      if (pageEnd > this.#end) return false;
      this.#next = pageEnd;
      if (header.type === "INDEX_PAGE") continue;
      const fields = header.page;
      if (fields === undefined || fields.encoding !== "PLAIN") return false;
      if (fields.numValues > this.#rowsLeft) return false;
      const started = header.type === "DATA_PAGE"
        ? await this.#startV1(header, fields, payload, pageEnd)
        : header.type === "DATA_PAGE_V2"
        ? await this.#startV2(header, fields, payload, pageEnd)
        : false;
      if (!started) return false;
      const valueBytes = fields.numValues * this.#width;
      // The values after the levels must be exactly the page's values: no fewer, no trailing bytes.
      const left = this.#compressed
        ? this.#streamLeft + this.#blockLength - this.#blockAt
        : this.#inEnd - this.#in + this.#blockLength - this.#blockAt;
      if (left !== valueBytes) return false;
      this.#rowsLeft -= fields.numValues;
      this.#pageBytes = valueBytes;
      if (valueBytes > 0) return true;
    }
  }

  async #readHeader(): Promise<{ header: PageHeaderFields; payload: number } | undefined> {
    for (let size = HEADER_BYTES;; size *= 8) {
      const to = Math.min(this.#end, this.#next + size);
      const bytes = await this.#read(this.#next, to);
      try {
        const { header, end } = readPageHeader(bytes, 0);
        return { header, payload: this.#next + end };
      } catch {
        // Cut by the window, or malformed: only a wider window can tell.
        if (to === this.#end || size >= MAX_HEADER_BYTES) return undefined;
      }
    }
  }

  /** A version 1 page: levels and values in one stream, compressed with the chunk's codec. */
  async #startV1(
    header: PageHeaderFields,
    fields: DataPageFields,
    payload: number,
    pageEnd: number,
  ): Promise<boolean> {
    if (!(await this.#startValues(payload, pageEnd, this.#snappy, header.uncompressedSize))) {
      return false;
    }
    if (!this.#optional) return true;
    if (fields.definitionEncoding !== "RLE") return false;
    if (this.#blockAt === this.#blockLength && !(await this.#nextBlock())) return false;
    const block = this.#block!;
    const available = this.#blockLength - this.#blockAt;
    if (available < 4) return false;
    const at = this.#blockAt;
    const length = block[at]! | (block[at + 1]! << 8) | (block[at + 2]! << 16) |
      (block[at + 3]! << 24);
    // Levels past the first fragment or run are left to the whole-chunk reader.
    if (length < 0 || 4 + length > available) return false;
    if (!allDefined(block, at + 4, at + 4 + length, fields.numValues)) return false;
    this.#blockAt = at + 4 + length;
    return true;
  }

  /** A version 2 page: levels uncompressed first, then the values, compressed if it says so. */
  async #startV2(
    header: PageHeaderFields,
    fields: DataPageFields,
    payload: number,
    pageEnd: number,
  ): Promise<boolean> {
    if (fields.numNulls !== 0 || fields.repetitionBytes !== 0) return false;
    const levels = fields.definitionBytes;
    if (levels < 0 || payload + levels > pageEnd) return false;
    if (this.#optional) {
      const bytes = await this.#read(payload, payload + levels);
      if (!allDefined(bytes, 0, levels, fields.numValues)) return false;
    }
    const compressed = this.#snappy && fields.compressed;
    return await this.#startValues(
      payload + levels,
      pageEnd,
      compressed,
      header.uncompressedSize - levels,
    );
  }

  /** Points the stream at `[from, to)`: raw bytes, or a Snappy stream of `size` bytes. */
  async #startValues(from: number, to: number, compressed: boolean, size: number) {
    this.#compressed = compressed;
    this.#blockAt = this.#blockLength = 0;
    if (!compressed) {
      this.#in = from;
      this.#inEnd = to;
      return size === to - from;
    }
    const preamble = snappyPreamble(await this.#read(from, Math.min(to, from + 5)));
    if (preamble === undefined || preamble.length !== size) return false;
    this.#in = from + preamble.size;
    this.#inEnd = to;
    this.#streamLeft = size;
    return true;
  }
}
