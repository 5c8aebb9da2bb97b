/**
 * A fast reader for the column chunks Parquet writers emit most for numeric
 * data: a top-level DOUBLE or FLOAT column without nulls, in PLAIN or
 * dictionary pages, uncompressed or Snappy. The values go straight into one
 * typed array per chunk, without hyparquet's general record assembly (which
 * builds a JavaScript array and costs most of a Parquet read). Anything else,
 * a null included, returns undefined, and the caller reads the chunk with
 * hyparquet as before, so errors keep their wording.
 *
 * @module
 */

import type { ColumnMetaData, SchemaElement } from "hyparquet";
import { type DataPageFields, readPageHeader } from "./_page_header.ts";
import { snappyDecompress } from "./_snappy.ts";
import { readVarint } from "./_varint.ts";

/** One column chunk to read. */
export interface FlatColumnChunk {
  /** The chunk's bytes: its pages, from the first (dictionary or data) page. */
  bytes: Uint8Array;
  /** The chunk's metadata. */
  meta: ColumnMetaData;
  /** The column's schema element. */
  element: SchemaElement;
  /** The rows of the row group. */
  rows: number;
  /**
   * Memory reused for decompressed pages (fresh memory for every page costs
   * more than the decompression); each page is copied out before the next.
   */
  scratch: { bytes: Uint8Array };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const PLAIN_ENCODINGS = new Set([
  "PLAIN",
  "PLAIN_DICTIONARY",
  "RLE_DICTIONARY",
  "RLE",
  "BIT_PACKED",
]);

/**
 * Whether a column's chunks may take the fast path: the check that needs no
 * page (a chunk without statistics may still turn out to hold a null).
 *
 * @param element The column's schema element.
 * @param meta A chunk's metadata.
 * @returns True when the fast path applies.
 */
export function isFlatFloatChunk(element: SchemaElement, meta: ColumnMetaData): boolean {
  const type = element.type;
  return LITTLE_ENDIAN && (type === "DOUBLE" || type === "FLOAT") && meta.type === type &&
    element.logical_type === undefined && element.converted_type === undefined &&
    element.repetition_type !== "REPEATED" &&
    (meta.codec === "UNCOMPRESSED" || meta.codec === "SNAPPY") &&
    meta.encodings.every((encoding) => PLAIN_ENCODINGS.has(encoding)) &&
    // A chunk its statistics say has nulls would be read here, declined, and read again by hyparquet.
    !(meta.statistics?.null_count !== undefined && meta.statistics.null_count > 0n);
}

/**
 * Reads a chunk's values.
 *
 * @param chunk The chunk.
 * @returns The values (Float64Array for DOUBLE, Float32Array for FLOAT), or
 *   undefined when a page is not of the kinds this reader takes (a null, an
 *   encoding, a malformed page).
 */
export function readFlatFloatChunk(
  chunk: FlatColumnChunk,
): Float64Array | Float32Array | undefined {
  try {
    return readPages(chunk);
  } catch {
    return undefined;
  }
}

function readPages(chunk: FlatColumnChunk): Float64Array | Float32Array | undefined {
  const { bytes, meta, rows } = chunk;
  const double = meta.type === "DOUBLE";
  const out = double ? new Float64Array(rows) : new Float32Array(rows);
  const optional = chunk.element.repetition_type === "OPTIONAL";
  const page = (compressed: Uint8Array, size: number) => {
    if (meta.codec !== "SNAPPY") return compressed;
    if (chunk.scratch.bytes.length < size) chunk.scratch.bytes = new Uint8Array(size);
    return snappyDecompress(compressed, size, chunk.scratch.bytes);
  };
  let dictionary: Float64Array | Float32Array | undefined;
  let written = 0;
  let at = 0;
  while (written < rows) {
    if (at >= bytes.length) return undefined;
    const { header, end } = readPageHeader(bytes, at);
    at = end + header.compressedSize;
    if (at > bytes.length) return undefined;
    const raw = bytes.subarray(end, at);
    const fields = header.page;
    if (header.type === "INDEX_PAGE") continue;
    if (!fields) return undefined;
    if (header.type !== "DICTIONARY_PAGE" && written + fields.numValues > rows) return undefined;
    if (header.type === "DICTIONARY_PAGE") {
      const values = page(raw, header.uncompressedSize);
      dictionary = plainFloats(values, 0, fields.numValues, double);
      if (!dictionary) return undefined;
    } else if (header.type === "DATA_PAGE") {
      const values = page(raw, header.uncompressedSize);
      let start = 0;
      if (optional) {
        if (fields.definitionEncoding !== "RLE" || values.length < 4) return undefined;
        const length = values[0]! | (values[1]! << 8) | (values[2]! << 16) | (values[3]! << 24);
        if (!allDefined(values, 4, 4 + length, fields.numValues)) return undefined;
        start = 4 + length;
      }
      if (!readValues(values, start, fields, dictionary, out, written)) return undefined;
      written += fields.numValues;
    } else if (header.type === "DATA_PAGE_V2") {
      if (fields.numNulls !== 0 || fields.repetitionBytes !== 0) return undefined;
      const levels = fields.definitionBytes;
      if (optional && !allDefined(raw, 0, levels, fields.numValues)) return undefined;
      const body = raw.subarray(levels);
      const values = fields.compressed ? page(body, header.uncompressedSize - levels) : body;
      if (!readValues(values, 0, fields, dictionary, out, written)) return undefined;
      written += fields.numValues;
    } else {
      return undefined;
    }
  }
  return written === rows ? out : undefined;
}

/** A data page's values into `out` at `written`; false when they are not all there. */
function readValues(
  page: Uint8Array,
  at: number,
  fields: DataPageFields,
  dictionary: Float64Array | Float32Array | undefined,
  out: Float64Array | Float32Array,
  written: number,
): boolean {
  const count = fields.numValues;
  if (fields.encoding === "PLAIN") {
    // One copy, byte for byte, into the output (the page's floats need not be aligned).
    const size = out.BYTES_PER_ELEMENT;
    if (at + count * size > page.length) return false;
    new Uint8Array(out.buffer, written * size, count * size).set(
      page.subarray(at, at + count * size),
    );
    return true;
  }
  if (fields.encoding !== "PLAIN_DICTIONARY" && fields.encoding !== "RLE_DICTIONARY") return false;
  if (!dictionary || at >= page.length) return false;
  const indices = new Int32Array(count);
  if (!readRleHybrid(page, at + 1, page.length, page[at]!, indices)) return false;
  for (let k = 0; k < count; k++) {
    const index = indices[k]!;
    if (index >= dictionary.length) return false;
    out[written + k] = dictionary[index]!;
  }
  return true;
}

/** `count` little-endian floats at `at`, copied into an aligned array; undefined when short. */
function plainFloats(
  page: Uint8Array,
  at: number,
  count: number,
  double: boolean,
): Float64Array | Float32Array | undefined {
  const size = double ? 8 : 4;
  if (at + count * size > page.length) return undefined;
  const copy = page.slice(at, at + count * size);
  return double ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
}

/**
 * Whether `count` definition levels (bit width 1) in `[from, to)` are all 1:
 * no null. The runs are checked where they lie, without decoding them.
 *
 * @param bytes The page.
 * @param from The levels' first byte.
 * @param to One past their last.
 * @param count How many levels.
 * @returns True when every level is there and is 1.
 */
export function allDefined(bytes: Uint8Array, from: number, to: number, count: number): boolean {
  if (to > bytes.length) return false;
  let pos = from;
  let seen = 0;
  while (seen < count) {
    const cursor = { at: pos };
    const header = readVarint(bytes, cursor, to, 5);
    if (header < 0) return false;
    pos = cursor.at;
    if (header % 2 === 0) {
      if (pos >= to || bytes[pos++] !== 1) return false;
      seen += header / 2;
    } else {
      // Groups of 8 levels, one byte each at width 1; the last group may hold padding past `count`.
      const groups = (header - 1) / 2;
      if (pos + groups > to) return false;
      for (let g = 0; g < groups; g++, seen += 8) {
        const wanted = Math.min(8, count - seen);
        if (wanted > 0 && (bytes[pos + g]! & ((1 << wanted) - 1)) !== (1 << wanted) - 1) {
          return false;
        }
      }
      pos += groups;
    }
  }
  return true;
}

/**
 * Parquet's RLE / bit-packed hybrid: runs of a repeated value and groups of
 * 8 bit-packed values (least significant bit first), each after a varint header.
 *
 * @returns False when the bytes end before `out` is full or the width is out of range.
 */
function readRleHybrid(
  bytes: Uint8Array,
  from: number,
  to: number,
  width: number,
  out: Int32Array,
): boolean {
  if (width > 32) return false;
  let pos = from;
  let filled = 0;
  const valueBytes = (width + 7) >> 3;
  while (filled < out.length) {
    const cursor = { at: pos };
    const header = readVarint(bytes, cursor, to, 5);
    if (header < 0) return false;
    pos = cursor.at;
    if (header % 2 === 0) {
      const run = header / 2;
      if (pos + valueBytes > to) return false;
      let value = 0;
      for (let k = 0; k < valueBytes; k++) value += bytes[pos + k]! * 2 ** (8 * k);
      pos += valueBytes;
      const end = Math.min(out.length, filled + run);
      out.fill(value, filled, end);
      filled = end;
    } else {
      const values = ((header - 1) / 2) * 8;
      if (pos + (values * width) / 8 > to) return false;
      let bit = pos * 8;
      for (let k = 0; k < values; k++) {
        let value = 0;
        for (let b = 0; b < width; b++, bit++) {
          if ((bytes[bit >> 3]! >> (bit & 7)) & 1) value += 2 ** b;
        }
        if (filled < out.length) out[filled++] = value;
      }
      pos += (values * width) / 8;
    }
  }
  return true;
}
