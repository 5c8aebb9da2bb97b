/**
 * Finds, for a row group and a column, the chunk the flat-column readers can
 * take: read whole and decoded ({@linkcode flatChunkReader}), or streamed a
 * slice at a time ({@linkcode streamedChunkReader}); undefined sends the
 * caller to hyparquet.
 *
 * @module
 */

import type { ColumnMetaData, FileMetaData, SchemaElement, SchemaTree } from "hyparquet";
import { type ParquetByteSource, readRangeReusing } from "./_file_buffer.ts";
import { isFlatFloatChunk, readFlatFloatChunk } from "./_flat_float_column.ts";
import {
  isStreamableChunk,
  type StreamedChunk,
  StreamedFloatColumn,
} from "./_streamed_float_column.ts";

/** Reads one column of one row group through the fast path, if it applies. */
export type FlatChunkRead = (
  group: number,
  range: { rowStart: number; rowEnd: number },
  column: string,
) => Promise<Float64Array | Float32Array | undefined>;

/** Opens one column of one row group as a stream, if it may be streamed. */
export type StreamedChunkOpen = (
  group: number,
  range: { rowStart: number; rowEnd: number },
  column: string,
) => StreamedFloatColumn | undefined;

type Locate = (
  group: number,
  range: { rowStart: number; rowEnd: number },
  column: string,
  accepts: (element: SchemaElement, meta: ColumnMetaData) => boolean,
) => StreamedChunk | undefined;

function chunkLocator(metadata: FileMetaData, schema: SchemaTree, size: number): Locate {
  const starts: number[] = [];
  let rows = 0;
  for (const group of metadata.row_groups) {
    starts.push(rows);
    rows += Number(group.num_rows);
  }
  const elements = new Map(schema.children.map((child) => [child.element.name, child]));
  return (group, range, column, accepts) => {
    const rowGroup = metadata.row_groups[group];
    const tree = elements.get(column);
    if (!rowGroup || !tree || tree.children.length > 0) return undefined;
    const rows = Number(rowGroup.num_rows);
    if (range.rowStart !== starts[group] || range.rowEnd !== range.rowStart + rows) {
      return undefined;
    }
    const chunk = rowGroup.columns.find((c) =>
      c.meta_data?.path_in_schema.length === 1 && c.meta_data.path_in_schema[0] === column
    );
    const meta = chunk?.meta_data;
    if (!meta || chunk.file_path || !accepts(tree.element, meta)) return undefined;
    // Some writers store 0 for "no dictionary page": only an offset before the data pages counts.
    const dictionary = meta.dictionary_page_offset;
    const start = Number(
      dictionary !== undefined && dictionary > 0n && dictionary < meta.data_page_offset
        ? dictionary
        : meta.data_page_offset,
    );
    const end = start + Number(meta.total_compressed_size);
    if (!(start >= 0 && end <= size)) return undefined;
    return { start, end, meta, element: tree.element, rows };
  };
}

/**
 * A reader of a file's flat float column chunks.
 *
 * @param metadata The file's metadata.
 * @param schema Its schema tree.
 * @param file The file's bytes, by range.
 * @returns The reader: undefined for a chunk it does not take, or a range that
 *   is not a whole row group. Calls must not overlap: the chunk's bytes are
 *   read into memory reused from one call to the next.
 */
export function flatChunkReader(
  metadata: FileMetaData,
  schema: SchemaTree,
  file: ParquetByteSource,
): FlatChunkRead {
  const locate = chunkLocator(metadata, schema, file.byteLength);
  const scratch = { bytes: new Uint8Array(0) };
  const chunkScratch = { bytes: new Uint8Array(0) };
  return async (group, range, column) => {
    const chunk = locate(group, range, column, isFlatFloatChunk);
    if (chunk === undefined) return undefined;
    const bytes = await readRangeReusing(file, chunk.start, chunk.end, chunkScratch);
    return readFlatFloatChunk({ ...chunk, bytes, scratch });
  };
}

/**
 * An opener of a file's flat float column chunks as streams.
 *
 * @param metadata The file's metadata.
 * @param schema Its schema tree.
 * @param file The file's bytes, by range.
 * @returns The opener: undefined for a chunk that may not be streamed, or a
 *   range that is not a whole row group. The streams share one read buffer,
 *   so their calls must not overlap.
 */
export function streamedChunkReader(
  metadata: FileMetaData,
  schema: SchemaTree,
  file: ParquetByteSource,
): StreamedChunkOpen {
  const locate = chunkLocator(metadata, schema, file.byteLength);
  const scratch = { bytes: new Uint8Array(0) };
  // A read inside the last one is served from it: a page's header, its Snappy preamble and its
  // first fragment come in one read.
  let last: { start: number; bytes: Uint8Array } = { start: 0, bytes: new Uint8Array(0) };
  const read = async (start: number, end: number) => {
    if (start >= last.start && end <= last.start + last.bytes.length) {
      return last.bytes.subarray(start - last.start, end - last.start);
    }
    last = { start, bytes: await readRangeReusing(file, start, end, scratch) };
    return last.bytes;
  };
  return (group, range, column) => {
    const chunk = locate(group, range, column, isStreamableChunk);
    return chunk === undefined ? undefined : new StreamedFloatColumn(read, chunk);
  };
}
