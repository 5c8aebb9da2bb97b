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
  let pos = preamble.at;
  if (length !== size) throw malformed(`a length of ${length} bytes where ${size} are stated`);
  const output = into && into.length >= size ? into.subarray(0, size) : new Uint8Array(size);
  let out = 0;
  while (pos < input.length) {
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
  if (out !== size) throw malformed(`${out} bytes where ${size} are stated`);
  return output;
}

function malformed(what: string): RangeError {
  return new RangeError(
    `Cannot decompress a Snappy block as it must be well formed: ${what} is not`,
  );
}
