/**
 * Finds, for a row group and a column, the chunk the flat-column reader can
 * take, reads its bytes and decodes it; undefined sends the caller to
 * hyparquet.
 *
 * @module
 */

import type { FileMetaData, SchemaTree } from "hyparquet";
import { type ParquetByteSource, readRangeReusing } from "./_file_buffer.ts";
import { isFlatFloatChunk, readFlatFloatChunk } from "./_flat_float_column.ts";

/** Reads one column of one row group through the fast path, if it applies. */
export type FlatChunkRead = (
  group: number,
  range: { rowStart: number; rowEnd: number },
  column: string,
) => Promise<Float64Array | Float32Array | undefined>;

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
  const starts: number[] = [];
  let rows = 0;
  for (const group of metadata.row_groups) {
    starts.push(rows);
    rows += Number(group.num_rows);
  }
  const scratch = { bytes: new Uint8Array(0) };
  const chunkScratch = { bytes: new Uint8Array(0) };
  const elements = new Map(schema.children.map((child) => [child.element.name, child]));
  return async (group, range, column) => {
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
    if (!meta || chunk.file_path || !isFlatFloatChunk(tree.element, meta)) return undefined;
    // Some writers store 0 for "no dictionary page": only an offset before the data pages counts.
    const dictionary = meta.dictionary_page_offset;
    const start = Number(
      dictionary !== undefined && dictionary > 0n && dictionary < meta.data_page_offset
        ? dictionary
        : meta.data_page_offset,
    );
    const end = start + Number(meta.total_compressed_size);
    if (!(start >= 0 && end <= file.byteLength)) return undefined;
    const bytes = await readRangeReusing(file, start, end, chunkScratch);
    return readFlatFloatChunk({ bytes, meta, element: tree.element, rows, scratch });
  };
}
