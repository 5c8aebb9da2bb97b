/**
 * Snappy block decompression (the raw format Parquet pages use), copying
 * literal runs and distant matches with native `set`/`copyWithin` rather than
 * byte by byte: most pages of floating-point data are long literals.
 *
 * @module
 */

import { readVarint } from "./_varint.ts";

/**
 * Decompresses one Snappy block.
 *
 * @param input The compressed block: a varint of the uncompressed length, then tagged elements.
 * @param size The uncompressed size the page header states.
 * @param into Memory to decompress into, when large enough (the bytes are a view of it).
 * @returns The uncompressed bytes.
 * @throws {RangeError} If the block is malformed, truncated or not of the stated size.
 */
export function snappyDecompress(input: Uint8Array, size: number, into?: Uint8Array): Uint8Array {
  const preamble = { at: 0 };
  const length = readVarint(input, preamble, input.length, 5);
  if (length < 0) throw malformed("its length preamble");
  if (length !== size) throw malformed(`a length of ${length} bytes where ${size} are stated`);
  const output = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  const end = decodeElements(input, preamble.at, output, size);
  if (end !== input.length) throw malformed("the end of its elements");
  return output;
}

/**
 * The size of Snappy's compression fragments: the reference compressor
 * compresses its input 64 KiB at a time, each fragment on its own, so no copy
 * reaches back into an earlier one.
 */
export const SNAPPY_FRAGMENT = 1 << 16;

/**
 * Reads a Snappy stream's length preamble.
 *
 * @param input The start of the stream.
 * @returns The uncompressed length and the preamble's size, or undefined when
 *   it is malformed or cut.
 */
export function snappyPreamble(input: Uint8Array): { length: number; size: number } | undefined {
  const cursor = { at: 0 };
  const length = readVarint(input, cursor, input.length, 5);
  return length < 0 ? undefined : { length, size: cursor.at };
}

/**
 * Decompresses the next fragment of a Snappy stream into `output`, where
 * fragments are independent, as the reference compressor writes them: the
 * fragment's elements must end exactly at `length` bytes, and none may copy
 * from before the fragment. Other streams are valid Snappy, and the caller
 * then decompresses the whole stream instead.
 *
 * @param input The compressed bytes, from the fragment's first element.
 * @param output Where the fragment goes: its first `length` bytes.
 * @param length The fragment's size: {@linkcode SNAPPY_FRAGMENT}, or what is
 *   left of the stream when less.
 * @returns How many input bytes the fragment took, or -1 when the stream is
 *   not in independent fragments, is malformed, or `input` ends first.
 */
export function snappyFragment(input: Uint8Array, output: Uint8Array, length: number): number {
  try {
    return decodeElements(input, 0, output, length);
  } catch {
    return -1;
  }
}

/**
 * Decodes elements from `input[pos]` until `output` holds `size` bytes; a
 * copy may only reach back within `output`, and no element may end past `size`.
 *
 * @returns The input position after the last element.
 * @throws {RangeError} If an element is malformed, cut, or breaks those rules.
 */
function decodeElements(input: Uint8Array, pos: number, output: Uint8Array, size: number): number {
  let out = 0;
  while (out < size) {
    if (pos >= input.length) throw malformed(`${out} bytes where ${size} are stated`);
    const tag = input[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let run = (tag >> 2) + 1;
      if (run > 60) {
        const bytes = run - 60;
        if (pos + bytes > input.length) throw malformed("a literal's length");
        run = 1;
        for (let k = 0; k < bytes; k++) run += input[pos + k]! * 2 ** (8 * k);
        pos += bytes;
      }
      if (pos + run > input.length || out + run > size) throw malformed("a literal");
      output.set(input.subarray(pos, pos + run), out);
      pos += run;
      out += run;
      continue;
    }
    let run: number;
    let offset: number;
    if (kind === 1) {
      if (pos >= input.length) throw malformed("a copy's offset");
      run = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | input[pos++]!;
    } else if (kind === 2) {
      if (pos + 2 > input.length) throw malformed("a copy's offset");
      run = (tag >> 2) + 1;
      offset = input[pos]! | (input[pos + 1]! << 8);
      pos += 2;
    } else {
      if (pos + 4 > input.length) throw malformed("a copy's offset");
      run = (tag >> 2) + 1;
      offset = (input[pos]! | (input[pos + 1]! << 8) | (input[pos + 2]! << 16)) +
        input[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > out || out + run > size) throw malformed("a copy");
    if (offset >= run && run > 16) {
      output.copyWithin(out, out - offset, out - offset + run);
      out += run;
    } else {
      // Overlapping copies repeat the last `offset` bytes, so they go byte by byte.
      for (let k = 0; k < run; k++, out++) output[out] = output[out - offset]!;
    }
  }
  return pos;
}

function malformed(what: string): RangeError {
  return new RangeError(
    `Cannot decompress a Snappy block as it must be well formed: ${what} is not`,
  );
}
