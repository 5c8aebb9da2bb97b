/**
 * A streaming CSV reader (RFC 4180 with the usual relaxations) over byte
 * chunks, so that a file of any size is read in constant memory.
 *
 * @module
 */

import { type ByteSource, decodeUtf8 } from "./byte_source.ts";
import type { InputLimitError } from "../errors.ts";
import { type InputLimits, tooLongLine, tooManyColumns } from "./input_limits.ts";

/** One parsed CSV record and the 1-based line of the file it starts on. */
export interface CsvRecord {
  /** The record's fields, unquoted. */
  fields: string[];
  /** The 1-based line number where the record starts (quoted newlines span lines). */
  line: number;
}

const QUOTE = 34; // "
const COMMA = 44; // ,
const CR = 13;
const LF = 10;

/** UTF-8 length of one UTF-16 code unit (a surrogate pair counts 4 on its high half). */
function utf8Length(c: number): number {
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c < 0xdc00) return 4;
  if (c >= 0xdc00 && c < 0xe000) return 0;
  return 3;
}

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
  const maxColumns = limits.maxColumns ?? Infinity;
  const maxLineBytes = limits.maxLineBytes ?? Infinity;
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let afterQuote = false; // just read a quote inside a quoted field: "" or the closing quote
  let fieldStarted = false;
  let line = 1;
  let recordLine = 1;
  let recordBytes = 0;
  let lastWasCr = false;
  let failure: InputLimitError | undefined;

  const endField = () => {
    fields.push(field);
    field = "";
    fieldStarted = false;
    afterQuote = false;
  };
  const isBlank = () => fields.length === 1 && fields[0] === "";

  for await (const text of decodeUtf8(source)) {
    const records: CsvRecord[] = [];
    let start = 0; // start of the pending plain run in `text`
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (lastWasCr) {
        lastWasCr = false;
        if (c === LF) {
          start = i + 1;
          continue;
        }
      }
      recordBytes += utf8Length(c);
      // Not checked at a line end: it ends the record, or inside quotes the next character checks it.
      if (recordBytes > maxLineBytes && c !== LF && c !== CR) {
        failure = tooLongLine(recordLine, maxLineBytes);
        break;
      }
      if (inQuotes) {
        if (c === QUOTE) {
          field += text.slice(start, i);
          start = i + 1;
          if (afterQuote) {
            field += '"';
            afterQuote = false;
          } else {
            afterQuote = true;
          }
          continue;
        }
        if (afterQuote) {
          // The previous quote closed the field; what follows is outside quotes.
          inQuotes = false;
          afterQuote = false;
        } else {
          if (c === LF || c === CR) {
            if (c === CR) {
              field += text.slice(start, i) + "\n";
              start = i + 1;
              lastWasCr = true;
            }
            line++;
          }
          continue;
        }
      }
      if (c === COMMA) {
        field += text.slice(start, i);
        start = i + 1;
        endField();
        // Checked per field so that a huge header is refused without building it.
        if (fields.length >= maxColumns) {
          failure = tooManyColumns(recordLine, maxColumns);
          break;
        }
      } else if (c === LF || c === CR) {
        field += text.slice(start, i);
        start = i + 1;
        endField();
        if (!isBlank()) records.push({ fields, line: recordLine });
        fields = [];
        fieldStarted = false;
        line++;
        recordLine = line;
        recordBytes = 0;
        lastWasCr = c === CR;
      } else if (c === QUOTE && !fieldStarted && field.length === 0 && i === start) {
        inQuotes = true;
        fieldStarted = true;
        start = i + 1;
      } else {
        fieldStarted = true;
      }
    }
    for (const record of records) yield record;
    if (failure) throw failure;
    field += text.slice(start);
  }
  if (inQuotes && !afterQuote) {
    throw new SyntaxError(
      `Cannot parse CSV as a quoted field must be closed: the field starting on line ${recordLine} is still open at the end of the input`,
    );
  }
  if (field.length > 0 || fields.length > 0 || fieldStarted) {
    endField();
    if (!isBlank()) yield { fields, line: recordLine };
  }
}
