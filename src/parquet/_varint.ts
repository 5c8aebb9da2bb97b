/**
 * The ULEB128 varint that Parquet's RLE runs, Snappy's length preamble and
 * Thrift's compact protocol all use.
 *
 * @module
 */

/**
 * Reads an unsigned varint at `cursor.at`, moving the cursor past it.
 *
 * @param bytes The bytes.
 * @param cursor Where it starts; moved to just after it.
 * @param end One past the last byte that may be read.
 * @param maxBytes The most bytes it may take (5 for 32 bits, 10 for 64).
 * @returns The value as a double (exact up to 2^53), or -1 when it runs past
 *   `end` or past `maxBytes`.
 */
export function readVarint(
  bytes: Uint8Array,
  cursor: { at: number },
  end: number,
  maxBytes: number,
): number {
  let value = 0;
  for (let k = 0; k < maxBytes; k++) {
    if (cursor.at >= end) return -1;
    const byte = bytes[cursor.at++]!;
    value += (byte & 0x7f) * 2 ** (7 * k);
    if (byte < 0x80) return value;
  }
  return -1;
}
