/**
 * A parsed CSV record: its fields as text, or as bytes read on demand so that
 * a numeric cell never becomes a string.
 *
 * @module
 */

import { cellNumber } from "./_cell_values.ts";

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

/** The fields of many byte records, entry k for one field each. */
export interface FieldTable {
  /** Field starts; after a record's last field, one past its line end. */
  bounds: Int32Array;
  /** The field's number (NaN when not a decimal), read while scanning. */
  values: Float64Array;
  /** 1 where the field is blank (spaces or tabs only). */
  blank: Uint8Array;
}

/** A record of plain ASCII fields, kept as a span of the input bytes. */
class ByteRecord implements CsvRecord {
  readonly line: number;
  readonly width: number;
  #bytes: Uint8Array;
  #fields: FieldTable;
  #first: number;
  #text: string[] | undefined;

  constructor(bytes: Uint8Array, fields: FieldTable, first: number, width: number, line: number) {
    this.#bytes = bytes;
    this.#fields = fields;
    this.#first = first;
    this.width = width;
    this.line = line;
  }

  get fields(): string[] {
    this.#text ??= Array.from({ length: this.width }, (_, i) => this.textAt(i)!);
    return this.#text;
  }

  textAt(index: number): string | undefined {
    if (!(index >= 0 && index < this.width)) return undefined;
    const { bounds } = this.#fields;
    const at = this.#first + index;
    return ASCII.decode(this.#bytes.subarray(bounds[at]!, bounds[at + 1]! - 1));
  }

  numberAt(index: number): number | undefined {
    if (!(index >= 0 && index < this.width)) return undefined;
    const at = this.#first + index;
    return this.#fields.blank[at] === 1 ? undefined : this.#fields.values[at];
  }
}

/**
 * A record whose fields are plain ASCII bytes (no quote, CR or byte over 127).
 *
 * @param bytes The input bytes.
 * @param fields The scanned fields: field i is entry `first + i`, its text
 *   `bytes[bounds[first + i], bounds[first + i + 1] − 1)` (the byte before each
 *   next start is its comma or the line end).
 * @param first The record's first entry.
 * @param width How many fields.
 * @param line The line it starts on.
 * @returns The record.
 */
export function byteRecord(
  bytes: Uint8Array,
  fields: FieldTable,
  first: number,
  width: number,
  line: number,
): CsvRecord {
  return new ByteRecord(bytes, fields, first, width, line);
}
