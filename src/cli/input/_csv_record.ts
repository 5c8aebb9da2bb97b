/**
 * A parsed CSV record: its fields as text, or as bytes read on demand so that
 * a numeric cell never becomes a string.
 *
 * @module
 */

import { cellNumber } from "./_cell_values.ts";
import { decimalFromBytes } from "./_decimal_bytes.ts";

/** One parsed CSV record and the 1-based line of the file it starts on. */
export interface CsvRecord {
  /** The 1-based line number where the record starts (quoted newlines span lines). */
  readonly line: number;
  /** The record's fields, unquoted. */
  readonly fields: string[];
  /** How many fields the record has. */
  readonly width: number;
  /**
   * A field's text.
   *
   * @param index The field's position.
   * @returns The text, undefined past the last field.
   */
  textAt(index: number): string | undefined;
  /**
   * A field as `cellNumber` reads its text.
   *
   * @param index The field's position.
   * @returns The number; undefined when blank or past the last field; NaN when not a decimal.
   */
  numberAt(index: number): number | undefined;
}

/** A record of decoded fields. */
class TextRecord implements CsvRecord {
  readonly line: number;
  readonly fields: string[];

  constructor(fields: string[], line: number) {
    this.fields = fields;
    this.line = line;
  }

  get width(): number {
    return this.fields.length;
  }

  textAt(index: number): string | undefined {
    return this.fields[index];
  }

  numberAt(index: number): number | undefined {
    return cellNumber(this.fields[index]);
  }
}

/**
 * A record of decoded fields.
 *
 * @param fields The fields, unquoted.
 * @param line The line it starts on.
 * @returns The record.
 */
export function textRecord(fields: string[], line: number): CsvRecord {
  return new TextRecord(fields, line);
}

const ASCII = new TextDecoder();

/** A record of plain ASCII fields, kept as a span of the input bytes. */
class ByteRecord implements CsvRecord {
  readonly line: number;
  readonly width: number;
  #bytes: Uint8Array;
  #bounds: Int32Array;
  #first: number;
  #fields: string[] | undefined;

  constructor(bytes: Uint8Array, bounds: Int32Array, first: number, width: number, line: number) {
    this.#bytes = bytes;
    this.#bounds = bounds;
    this.#first = first;
    this.width = width;
    this.line = line;
  }

  get fields(): string[] {
    this.#fields ??= Array.from({ length: this.width }, (_, i) => this.textAt(i)!);
    return this.#fields;
  }

  textAt(index: number): string | undefined {
    if (!(index >= 0 && index < this.width)) return undefined;
    const at = this.#first + index;
    return ASCII.decode(this.#bytes.subarray(this.#bounds[at]!, this.#bounds[at + 1]! - 1));
  }

  numberAt(index: number): number | undefined {
    if (!(index >= 0 && index < this.width)) return undefined;
    const at = this.#first + index;
    return decimalFromBytes(this.#bytes, this.#bounds[at]!, this.#bounds[at + 1]! - 1);
  }
}

/**
 * A record whose fields are plain ASCII bytes (no quote, CR or byte over 127).
 *
 * @param bytes The input bytes.
 * @param bounds Field starts: field i is `bytes[bounds[first + i], bounds[first + i + 1] − 1)`
 *   (the byte before each next start is its comma or the line end).
 * @param first The record's first entry in `bounds`.
 * @param width How many fields.
 * @param line The line it starts on.
 * @returns The record.
 */
export function byteRecord(
  bytes: Uint8Array,
  bounds: Int32Array,
  first: number,
  width: number,
  line: number,
): CsvRecord {
  return new ByteRecord(bytes, bounds, first, width, line);
}
