/**
 * Just enough of the FlatBuffers wire format to read Arrow IPC metadata:
 * tables through their vtables, scalars, strings, vectors of tables and of
 * structs. Every read is bounds-checked, so a corrupt message is an error,
 * never a read outside its bytes.
 *
 * @module
 */

/** A FlatBuffers decoding failure: the metadata is not what it claims to be. */
export class FlatbufferError extends Error {
  /** @param message What was out of place. */
  constructor(message: string) {
    super(message);
    this.name = "FlatbufferError";
  }
}

/** A table of one FlatBuffers message: its position and its vtable. */
export class FlatTable {
  readonly #view: DataView;
  readonly #position: number;
  readonly #vtable: number;
  readonly #vtableSize: number;

  /**
   * @param view The message's bytes.
   * @param position Where the table starts.
   * @throws {FlatbufferError} If the table or its vtable lies outside the bytes.
   */
  constructor(view: DataView, position: number) {
    this.#view = view;
    this.#position = position;
    checkRange(view, position, 4, "table");
    const vtable = position - view.getInt32(position, true);
    checkRange(view, vtable, 4, "vtable");
    this.#vtable = vtable;
    this.#vtableSize = view.getUint16(vtable, true);
    checkRange(view, vtable, this.#vtableSize, "vtable");
  }

  /** The root table of a message. */
  static root(view: DataView): FlatTable {
    checkRange(view, 0, 4, "root offset");
    return new FlatTable(view, view.getUint32(0, true));
  }

  /** Absolute position of field `index`, or undefined when it is absent. */
  #field(index: number, size: number): number | undefined {
    const entry = 4 + 2 * index;
    if (entry + 2 > this.#vtableSize) return undefined;
    const offset = this.#view.getUint16(this.#vtable + entry, true);
    if (offset === 0) return undefined;
    checkRange(this.#view, this.#position + offset, size, `field ${index}`);
    return this.#position + offset;
  }

  /** An unsigned byte field (a union's type, a bool). */
  uint8(index: number, fallback: number): number {
    const at = this.#field(index, 1);
    return at === undefined ? fallback : this.#view.getUint8(at);
  }

  /** A 16-bit field (an enum). */
  int16(index: number, fallback: number): number {
    const at = this.#field(index, 2);
    return at === undefined ? fallback : this.#view.getInt16(at, true);
  }

  /** A 64-bit field, as a number; one beyond 2^53 is refused. */
  int64(index: number, fallback: number): number {
    const at = this.#field(index, 8);
    return at === undefined ? fallback : readInt64(this.#view, at);
  }

  /** Where an offset field points, or undefined when absent. */
  #target(index: number): number | undefined {
    const at = this.#field(index, 4);
    if (at === undefined) return undefined;
    const target = at + this.#view.getUint32(at, true);
    checkRange(this.#view, target, 4, `field ${index}'s target`);
    return target;
  }

  /** A table field (a union's value included), or undefined when absent. */
  table(index: number): FlatTable | undefined {
    const target = this.#target(index);
    return target === undefined ? undefined : new FlatTable(this.#view, target);
  }

  /** A string field, or undefined when absent. */
  string(index: number): string | undefined {
    const target = this.#target(index);
    if (target === undefined) return undefined;
    const length = this.#view.getUint32(target, true);
    checkRange(this.#view, target + 4, length, `string field ${index}`);
    const bytes = new Uint8Array(this.#view.buffer, this.#view.byteOffset + target + 4, length);
    return new TextDecoder().decode(bytes);
  }

  /** A vector of tables (empty when absent). */
  tables(index: number): FlatTable[] {
    const vector = this.#vector(index, 4);
    if (vector === undefined) return [];
    return Array.from({ length: vector.length }, (_, i) => {
      const at = vector.start + 4 * i;
      return new FlatTable(this.#view, at + this.#view.getUint32(at, true));
    });
  }

  /** A vector of structs of `size` bytes: where each starts (empty when absent). */
  structs(index: number, size: number): { view: DataView; starts: number[] } {
    const vector = this.#vector(index, size);
    const starts = vector === undefined
      ? []
      : Array.from({ length: vector.length }, (_, i) => vector.start + size * i);
    return { view: this.#view, starts };
  }

  #vector(index: number, size: number): { start: number; length: number } | undefined {
    const target = this.#target(index);
    if (target === undefined) return undefined;
    const length = this.#view.getUint32(target, true);
    checkRange(this.#view, target + 4, length * size, `vector field ${index}`);
    return { start: target + 4, length };
  }
}

/**
 * A little-endian 64-bit integer as a number.
 *
 * @throws {FlatbufferError} If it is negative or beyond 2^53.
 */
export function readInt64(view: DataView, at: number): number {
  checkRange(view, at, 8, "64-bit value");
  // Two 32-bit halves rather than a BigInt: a record batch holds hundreds of these.
  const high = view.getUint32(at + 4, true);
  if (high >= 0x200000) {
    throw new FlatbufferError(
      `a length or offset must be in [0, 2^53): found ${view.getBigInt64(at, true)}`,
    );
  }
  return high * 0x100000000 + view.getUint32(at, true);
}

function checkRange(view: DataView, at: number, size: number, what: string): void {
  if (!(at >= 0 && size >= 0 && at + size <= view.byteLength)) {
    throw new FlatbufferError(
      `the ${what} at byte ${at} (${size} bytes) lies outside the ${view.byteLength} metadata bytes`,
    );
  }
}
