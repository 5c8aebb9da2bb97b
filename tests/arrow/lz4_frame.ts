/**
 * A small LZ4 frame decoder for the tests: enough to register with
 * apache-arrow's `compressionRegistry` and read the LZ4-compressed record
 * batches pyarrow wrote (`lz4_tail.arrows`). Written from the LZ4 frame and
 * block format descriptions; checksums are skipped, not verified.
 */

const MAGIC = 0x184d2204;

function readUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>>
    0;
}

/** An LZ4 length: the nibble, plus bytes of 255 and a last byte below 255 when it is 15. */
function lengthAt(bytes: Uint8Array, at: number, nibble: number): [number, number] {
  let length = nibble;
  if (nibble === 15) {
    for (;;) {
      const more = bytes[at++]!;
      length += more;
      if (more !== 255) break;
    }
  }
  return [length, at];
}

function decodeBlock(block: Uint8Array, out: number[]): void {
  let at = 0;
  while (at < block.length) {
    const token = block[at++]!;
    let literals: number;
    [literals, at] = lengthAt(block, at, token >> 4);
    for (let i = 0; i < literals; i++) out.push(block[at++]!);
    if (at >= block.length) return; // the last sequence holds literals only
    const offset = block[at]! | (block[at + 1]! << 8);
    at += 2;
    let match: number;
    [match, at] = lengthAt(block, at, token & 15);
    const from = out.length - offset;
    for (let i = 0; i < match + 4; i++) out.push(out[from + i]!);
  }
}

/**
 * Decodes one LZ4 frame.
 *
 * @param frame The frame's bytes.
 * @returns The decompressed bytes.
 */
export function decodeLz4Frame(frame: Uint8Array): Uint8Array {
  if (readUint32(frame, 0) !== MAGIC) throw new Error("not an LZ4 frame");
  const flags = frame[4]!;
  let at = 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
  const out: number[] = [];
  for (;;) {
    const size = readUint32(frame, at);
    at += 4;
    if (size === 0) break;
    const length = size & 0x7fffffff;
    const data = frame.subarray(at, at + length);
    if (size & 0x80000000) { for (const byte of data) out.push(byte); }
    else decodeBlock(data, out);
    at += length + (flags & 0x10 ? 4 : 0);
  }
  return Uint8Array.from(out);
}
