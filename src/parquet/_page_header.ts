/**
 * Parquet page headers, read from their Thrift compact encoding: the fields
 * the flat-column reader needs, every other field skipped.
 *
 * @module
 */

import { readVarint } from "./_varint.ts";

/** The page types of the Parquet format, by their Thrift value. */
const PAGE_TYPES = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2"] as const;
/** The encodings, by their Thrift value (1 is unused). */
const ENCODINGS = [
  "PLAIN",
  "GROUP_VAR_INT",
  "PLAIN_DICTIONARY",
  "RLE",
  "BIT_PACKED",
  "DELTA_BINARY_PACKED",
  "DELTA_LENGTH_BYTE_ARRAY",
  "DELTA_BYTE_ARRAY",
  "RLE_DICTIONARY",
  "BYTE_STREAM_SPLIT",
] as const;

/** A data page's header (format version 1 or 2). */
export interface DataPageFields {
  /** Values in the page, nulls included. */
  numValues: number;
  /** The values' encoding. */
  encoding: string;
  /** Version 1: the definition levels' encoding. */
  definitionEncoding: string;
  /** Version 2: nulls in the page. */
  numNulls: number;
  /** Version 2: bytes of definition levels, before the values. */
  definitionBytes: number;
  /** Version 2: bytes of repetition levels, first. */
  repetitionBytes: number;
  /** Version 2: whether the values are compressed (levels never are). */
  compressed: boolean;
}

/** A page header. */
export interface PageHeaderFields {
  /** "DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2", or "unknown". */
  type: string;
  /** The page's size uncompressed. */
  uncompressedSize: number;
  /** The page's size as stored, after the header. */
  compressedSize: number;
  /** The data page or dictionary page fields, when the page is one. */
  page: DataPageFields | undefined;
}

/** A position in bytes. */
interface Cursor {
  bytes: Uint8Array;
  at: number;
}

/**
 * Reads the page header at `cursor.at` and moves past it.
 *
 * @param bytes The column chunk.
 * @param at Where the header starts.
 * @returns The header and where the page's bytes start.
 * @throws {RangeError} If the header runs past the bytes or is malformed.
 */
export function readPageHeader(
  bytes: Uint8Array,
  at: number,
): { header: PageHeaderFields; end: number } {
  const cursor = { bytes, at };
  const header: PageHeaderFields = {
    type: "unknown",
    uncompressedSize: -1,
    compressedSize: -1,
    page: undefined,
  };
  readStruct(cursor, (id, type) => {
    if (id === 1 && type === I32) header.type = PAGE_TYPES[readInt(cursor)] ?? "unknown";
    else if (id === 2 && type === I32) header.uncompressedSize = readInt(cursor);
    else if (id === 3 && type === I32) header.compressedSize = readInt(cursor);
    else if ((id === 5 || id === 7 || id === 8) && type === STRUCT) {
      header.page = readPageFields(cursor, id);
    } else skip(cursor, type);
  });
  if (header.uncompressedSize < 0 || header.compressedSize < 0) throw malformed("its sizes");
  return { header, end: cursor.at };
}

/** The fields of a DataPageHeader (5), DictionaryPageHeader (7) or DataPageHeaderV2 (8). */
function readPageFields(cursor: Cursor, kind: number): DataPageFields {
  const fields: DataPageFields = {
    numValues: -1,
    encoding: "unknown",
    definitionEncoding: "unknown",
    numNulls: 0,
    definitionBytes: 0,
    repetitionBytes: 0,
    compressed: true,
  };
  readStruct(cursor, (id, type) => {
    if (type === TRUE || type === FALSE) {
      if (kind === 8 && id === 7) fields.compressed = type === TRUE;
      return;
    }
    if (type !== I32) return skip(cursor, type);
    const value = readInt(cursor);
    if (id === 1) fields.numValues = value;
    else if (kind === 8) {
      if (id === 2) fields.numNulls = value;
      else if (id === 4) fields.encoding = ENCODINGS[value] ?? "unknown";
      else if (id === 5) fields.definitionBytes = value;
      else if (id === 6) fields.repetitionBytes = value;
    } else if (id === 2) fields.encoding = ENCODINGS[value] ?? "unknown";
    else if (id === 3 && kind === 5) fields.definitionEncoding = ENCODINGS[value] ?? "unknown";
  });
  if (fields.numValues < 0) throw malformed("its value count");
  return fields;
}

const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
const BINARY = 8;
const LIST = 9;
const SET = 10;
const MAP = 11;
const STRUCT = 12;

/** Calls `field` for each field of a struct, until its stop byte. */
function readStruct(cursor: Cursor, field: (id: number, type: number) => void, depth = 0): void {
  if (depth > 16) throw malformed("its nesting");
  let id = 0;
  for (;;) {
    const byte = readByte(cursor);
    const type = byte & 0x0f;
    if (type === 0) return;
    const delta = byte >> 4;
    id = delta === 0 ? zigzag(readUnsigned(cursor)) : id + delta;
    field(id, type);
  }
}

function skip(cursor: Cursor, type: number, depth = 0): void {
  if (depth > 16) throw malformed("its nesting");
  if (type === TRUE || type === FALSE) return;
  if (type === BYTE) cursor.at++;
  else if (type === I16 || type === I32 || type === I64) readUnsigned(cursor);
  else if (type === DOUBLE) cursor.at += 8;
  else if (type === BINARY) {
    const length = readUnsigned(cursor); // read before cursor.at, which it moves
    cursor.at += length;
  } else if (type === LIST || type === SET) {
    const head = readByte(cursor);
    const size = head >> 4 === 15 ? readUnsigned(cursor) : head >> 4;
    const element = head & 0x0f;
    // Booleans in a list take a byte each.
    for (let k = 0; k < size; k++) {
      if (element === TRUE || element === FALSE) cursor.at++;
      else skip(cursor, element, depth + 1);
    }
  } else if (type === MAP) {
    const size = readUnsigned(cursor);
    if (size > 0) {
      const types = readByte(cursor);
      for (let k = 0; k < size; k++) {
        skip(cursor, types >> 4, depth + 1);
        skip(cursor, types & 0x0f, depth + 1);
      }
    }
  } else if (type === STRUCT) {
    readStruct(cursor, (_, inner) => skip(cursor, inner, depth + 1), depth + 1);
  } else throw malformed(`a field of type ${type}`);
  if (cursor.at > cursor.bytes.length) throw malformed("its length");
}

function readInt(cursor: Cursor): number {
  return zigzag(readUnsigned(cursor));
}

function zigzag(value: number): number {
  return value % 2 === 0 ? value / 2 : -(value + 1) / 2;
}

/** An unsigned varint of up to 64 bits, as a double (exact up to 2^53). */
function readUnsigned(cursor: Cursor): number {
  const value = readVarint(cursor.bytes, cursor, cursor.bytes.length, 10);
  if (value < 0) throw malformed("a varint");
  return value;
}

function readByte(cursor: Cursor): number {
  if (cursor.at >= cursor.bytes.length) throw malformed("its length");
  return cursor.bytes[cursor.at++]!;
}

function malformed(what: string): RangeError {
  return new RangeError(
    `Cannot read a Parquet page header as it must be well formed: ${what} is not`,
  );
}
