/**
 * The general CSV parser over decoded text: quoted fields, CR line ends and
 * any Unicode. `parseCsv` hands it whatever its byte scanner cannot take.
 *
 * @module
 */

import type { InputLimitError } from "../errors.ts";
import { type CsvRecord, textRecord } from "./_csv_record.ts";
import { type InputLimits, tooLongLine, tooManyColumns } from "./input_limits.ts";

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
 * A push parser: text goes in piece by piece, completed records come out. Its
 * state carries across pieces, so a piece may end anywhere, even inside a
 * quoted field.
 */
export class CsvTextParser {
  #maxColumns: number;
  #maxLineBytes: number;
  #fields: string[] = [];
  #field = "";
  #inQuotes = false;
  #afterQuote = false; // just read a quote inside a quoted field: "" or the closing quote
  #fieldStarted = false;
  #line = 1;
  #recordLine = 1;
  #recordBytes = 0;
  #lastWasCr = false;

  /** @param limits The most fields and bytes (UTF-8, line ends excluded) per record. */
  constructor(limits: InputLimits) {
    this.#maxColumns = limits.maxColumns ?? Infinity;
    this.#maxLineBytes = limits.maxLineBytes ?? Infinity;
  }

  /** True between records: nothing of a record is held, so another reader may take over. */
  get atRecordStart(): boolean {
    return this.#fields.length === 0 && this.#field.length === 0 && !this.#inQuotes &&
      !this.#fieldStarted && !this.#lastWasCr;
  }

  /** The line the next record starts on. */
  get line(): number {
    return this.#line;
  }

  /**
   * Moves to a later line, when another reader took the records in between.
   *
   * @param line The line the next record starts on; only between records.
   */
  resumeAt(line: number): void {
    this.#line = line;
    this.#recordLine = line;
  }

  /**
   * Parses one more piece of text.
   *
   * @param text The piece.
   * @param out Where the records completed in it are appended.
   * @returns The limit the current record broke, if one did (the records before it are in `out`).
   */
  push(text: string, out: CsvRecord[]): InputLimitError | undefined {
    let start = 0; // start of the pending plain run in `text`
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.#lastWasCr) {
        this.#lastWasCr = false;
        if (c === LF) {
          start = i + 1;
          continue;
        }
      }
      this.#recordBytes += utf8Length(c);
      // Not checked at a line end: it ends the record, or inside quotes the next character checks it.
      if (this.#recordBytes > this.#maxLineBytes && c !== LF && c !== CR) {
        return tooLongLine(this.#recordLine, this.#maxLineBytes);
      }
      if (this.#inQuotes) {
        if (c === QUOTE) {
          this.#field += text.slice(start, i);
          start = i + 1;
          if (this.#afterQuote) {
            this.#field += '"';
            this.#afterQuote = false;
          } else {
            this.#afterQuote = true;
          }
          continue;
        }
        if (this.#afterQuote) {
          // The previous quote closed the field; what follows is outside quotes.
          this.#inQuotes = false;
          this.#afterQuote = false;
        } else {
          if (c === LF || c === CR) {
            if (c === CR) {
              this.#field += text.slice(start, i) + "\n";
              start = i + 1;
              this.#lastWasCr = true;
            }
            this.#line++;
          }
          continue;
        }
      }
      if (c === COMMA) {
        this.#field += text.slice(start, i);
        start = i + 1;
        this.#endField();
        // Checked per field so that a huge header is refused without building it.
        if (this.#fields.length >= this.#maxColumns) {
          return tooManyColumns(this.#recordLine, this.#maxColumns);
        }
      } else if (c === LF || c === CR) {
        this.#field += text.slice(start, i);
        start = i + 1;
        this.#endRecord(out);
        this.#lastWasCr = c === CR;
      } else if (c === QUOTE && !this.#fieldStarted && this.#field.length === 0 && i === start) {
        this.#inQuotes = true;
        this.#fieldStarted = true;
        start = i + 1;
      } else {
        this.#fieldStarted = true;
      }
    }
    this.#field += text.slice(start);
    return undefined;
  }

  /**
   * Ends the input.
   *
   * @returns The last record when the input does not end with a line end.
   * @throws {SyntaxError} If the input ends inside a quoted field.
   */
  finish(): CsvRecord | undefined {
    if (this.#inQuotes && !this.#afterQuote) {
      throw new SyntaxError(
        `Cannot parse CSV as a quoted field must be closed: the field starting on line ${this.#recordLine} is still open at the end of the input`,
      );
    }
    if (this.#field.length === 0 && this.#fields.length === 0 && !this.#fieldStarted) {
      return undefined;
    }
    const out: CsvRecord[] = [];
    this.#endRecord(out);
    return out[0];
  }

  #endField(): void {
    this.#fields.push(this.#field);
    this.#field = "";
    this.#fieldStarted = false;
    this.#afterQuote = false;
  }

  #endRecord(out: CsvRecord[]): void {
    this.#endField();
    const blank = this.#fields.length === 1 && this.#fields[0] === "";
    if (!blank) out.push(textRecord(this.#fields, this.#recordLine));
    this.#fields = [];
    this.#inQuotes = false;
    this.#line++;
    this.#recordLine = this.#line;
    this.#recordBytes = 0;
  }
}
