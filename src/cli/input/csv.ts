/**
 * A streaming CSV reader (RFC 4180 with the usual relaxations) over byte
 * chunks, so that a file of any size is read in constant memory.
 *
 * Whole lines of plain ASCII (no quote, no CR) are split as bytes and their
 * numeric cells read without decoding; anything else goes through the general
 * text parser, from the record where it appears to the end of the chunk.
 * Records of whole lines inside a chunk keep views of the chunk, so a source
 * must yield fresh chunks (file and standard-input streams do); the part of a
 * line that a chunk ends inside is copied.
 *
 * @module
 */

import { type ByteSource, iterateChunks } from "./byte_source.ts";
import type { InputLimitError } from "../errors.ts";
import type { CsvRecord } from "./_csv_record.ts";
import { CsvTextParser } from "./_csv_text_parser.ts";
import { newFieldCursor, type ScanLimits, scanPlainRecords } from "./_csv_byte_scanner.ts";
import type { InputLimits } from "./input_limits.ts";

export type { CsvRecord } from "./_csv_record.ts";

const LF = 10;
/** Bytes held without a line end before the general parser takes them (it reads any record length). */
const MAX_HELD_BYTES = 1 << 20;
const BOM = [0xef, 0xbb, 0xbf];

/**
 * Parses CSV text streamed as byte chunks into records: fields separated by
 * commas, records by LF or CRLF (a lone CR too), fields optionally quoted with
 * `"` so that they may hold commas, newlines and doubled quotes (`""`).
 * Relaxations: a quote inside an unquoted field is kept literally, text after a
 * closing quote is appended, a final record without a newline is read, and
 * blank lines are skipped. The first record returned is the header row.
 *
 * @param source The bytes (a file stream, stdin, a `ReadableStream`…).
 * @param limits The most fields per record and bytes per record (UTF-8, as
 *   decoded; line ends excluded); unlimited when absent.
 * @returns The records with the line each starts on.
 * @throws {SyntaxError} If the input ends inside a quoted field.
 * @throws {InputLimitError} As soon as a record passes a limit, before it is held whole
 *   (the records before it are yielded first).
 *
 * @example Quoted fields, CRLF and a BOM
 * ```ts
 * import { parseCsv } from "./csv.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode('\uFEFFa,b\r\n"x, ""y""",2\r\n');
 * const records = [];
 * for await (const record of parseCsv([bytes])) records.push(record.fields);
 * assert.deepEqual(records, [["a", "b"], ['x, "y"', "2"]]);
 * ```
 */
export async function* parseCsv(
  source: ByteSource,
  limits: InputLimits = {},
): AsyncGenerator<CsvRecord> {
  const reader = new CsvByteReader(limits);
  for await (const chunk of iterateChunks(source)) {
    const records: CsvRecord[] = [];
    const failure = reader.push(chunk, records);
    for (const record of records) yield record;
    if (failure) throw failure;
  }
  const records: CsvRecord[] = [];
  const failure = reader.finish(records);
  for (const record of records) yield record;
  if (failure) throw failure;
}

/** The byte-level driver: holds the bytes after the last line end, and the text parser. */
class CsvByteReader {
  #limits: ScanLimits;
  #text: CsvTextParser;
  // ignoreBOM: the BOM is stripped here, from the bytes, before either parser sees them.
  #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #atStart = true;
  #line = 1;
  #fields = newFieldCursor();

  constructor(limits: InputLimits) {
    this.#limits = {
      maxColumns: limits.maxColumns ?? Infinity,
      maxLineBytes: limits.maxLineBytes ?? Infinity,
    };
    this.#text = new CsvTextParser(limits);
  }

  /** Parses a chunk's whole lines where they lie (records keep views of it), holding the rest. */
  push(input: Uint8Array, out: CsvRecord[]): InputLimitError | undefined {
    if (input.length === 0) return undefined;
    // A plain view: Deno's node:fs Buffers search in JavaScript, typed arrays natively.
    let chunk = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    if (this.#atStart) {
      // Three bytes tell whether the input opens with a byte-order mark.
      if (this.#heldBytes + chunk.length < BOM.length) return this.#hold(chunk, out);
      chunk = this.#withoutBom(this.#joinHeld(chunk));
    }
    let from = 0;
    if (this.#heldBytes > 0) {
      // The held bytes and the chunk's first line make one line, parsed on its own.
      const firstLf = chunk.indexOf(LF);
      if (firstLf < 0) return this.#hold(chunk, out);
      const line = this.#joinHeld(chunk.subarray(0, firstLf + 1));
      const failure = this.#parse(line, 0, line.length, out);
      if (failure) return failure;
      from = firstLf + 1;
    }
    const end = Math.max(chunk.lastIndexOf(LF) + 1, from);
    const failure = this.#parse(chunk, from, end, out);
    if (failure || end === chunk.length) return failure;
    return this.#hold(chunk.subarray(end), out);
  }

  finish(out: CsvRecord[]): InputLimitError | undefined {
    // The decoder's last bytes (an unfinished sequence, as U+FFFD) can still break a limit.
    const failure = this.#flushHeld(out) ?? this.#feedText(undefined, out);
    if (failure) return failure;
    const last = this.#text.finish();
    if (last) out.push(last);
    return undefined;
  }

  /** Parses `bytes[from, end)`, whole lines: plain records as bytes, the rest as text. */
  #parse(
    bytes: Uint8Array,
    from: number,
    end: number,
    out: CsvRecord[],
  ): InputLimitError | undefined {
    if (from < end && this.#text.atRecordStart) {
      const scan = scanPlainRecords(
        bytes,
        { from, to: end, line: this.#line },
        this.#limits,
        out,
        this.#fields,
      );
      if (scan.failure) return scan.failure;
      from = scan.stop;
      this.#line = scan.line;
    }
    return from < end ? this.#feedText(bytes.subarray(from, end), out) : undefined;
  }

  /**
   * Gives bytes to the text parser, starting it at the line the byte scanner
   * reached; undefined ends the decoder's stream.
   */
  #feedText(bytes: Uint8Array | undefined, out: CsvRecord[]): InputLimitError | undefined {
    if (this.#text.atRecordStart) this.#text.resumeAt(this.#line);
    const text = bytes ? this.#decoder.decode(bytes, { stream: true }) : this.#decoder.decode();
    const failure = this.#text.push(text, out);
    this.#line = this.#text.line;
    return failure;
  }

  /** The held bytes go to the text parser: too many without a line end, or the input ended. */
  #flushHeld(out: CsvRecord[]): InputLimitError | undefined {
    if (this.#heldBytes === 0) return undefined;
    let bytes = this.#joinHeld(new Uint8Array(0));
    if (this.#atStart && bytes.length >= BOM.length) bytes = this.#withoutBom(bytes);
    this.#atStart = false;
    return this.#feedText(bytes, out);
  }

  /**
   * Keeps a copy of bytes without a line end (a source may reuse a chunk's
   * memory once the next is asked for); too many go to the text parser.
   */
  #hold(bytes: Uint8Array, out: CsvRecord[]): InputLimitError | undefined {
    this.#held.push(bytes.slice());
    this.#heldBytes += bytes.length;
    return this.#heldBytes > MAX_HELD_BYTES ? this.#flushHeld(out) : undefined;
  }

  /** One new array, which records keep views of. */
  #joinHeld(chunk: Uint8Array): Uint8Array {
    const joined = new Uint8Array(this.#heldBytes + chunk.length);
    let at = 0;
    for (const part of this.#held) {
      joined.set(part, at);
      at += part.length;
    }
    joined.set(chunk, at);
    this.#held = [];
    this.#heldBytes = 0;
    return joined;
  }

  #withoutBom(bytes: Uint8Array): Uint8Array {
    this.#atStart = false;
    const bom = bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2];
    return bom ? bytes.subarray(BOM.length) : bytes;
  }
}
