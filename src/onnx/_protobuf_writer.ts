/**
 * A minimal protocol buffers writer: the wire format's varints, length
 * delimited fields and packed repeated fields, enough for the ONNX subset
 * the exporter emits (`_onnx_proto.ts`), so the core install carries no
 * protobuf runtime.
 *
 * Wire format (protobuf's encoding guide): each field is a key
 * `(field << 3) | wireType` as a varint, then the value: wire type 0 a varint
 * (int32/int64/enum; negative values as their 64-bit two's complement, ten
 * bytes), 2 a varint length then that many bytes (strings in UTF-8, nested
 * messages, packed repeated scalars), 5 a little-endian float32.
 *
 * @module
 */

const VARINT = 0;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;
const TWO_TO_64 = 1n << 64n;
/** float32's quiet NaN, 0x7fc00000 (what the engines and protobufjs write). */
const QUIET_NAN_BITS = 0x7fc00000;

const encoder = new TextEncoder();

/** Appends protobuf fields to a growing byte buffer. */
export class ProtoWriter {
  #bytes = new Uint8Array(256);
  #length = 0;

  #reserve(extra: number): void {
    if (this.#length + extra <= this.#bytes.length) return;
    let size = this.#bytes.length * 2;
    while (size < this.#length + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = grown;
  }

  #byte(value: number): void {
    this.#reserve(1);
    this.#bytes[this.#length++] = value;
  }

  #raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#bytes.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  /** A varint of an integer in [-2⁶³, 2⁶⁴) (negative: 64-bit two's complement). */
  #varint(value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(
        `Cannot write a protobuf varint as the value must be a safe integer: current value is ${value}`,
      );
    }
    if (value >= 0 && value < 2 ** 31) {
      let v = value;
      while (v >= 0x80) {
        this.#byte((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      this.#byte(v);
      return;
    }
    let v = value < 0 ? TWO_TO_64 + BigInt(value) : BigInt(value);
    while (v >= 0x80n) {
      this.#byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#byte(Number(v));
  }

  #key(field: number, wireType: number): void {
    this.#varint(field * 8 + wireType);
  }

  /**
   * An int32, int64 or enum field (wire type 0).
   *
   * @param field The field number.
   * @param value The integer.
   * @returns This writer.
   */
  integer(field: number, value: number): this {
    this.#key(field, VARINT);
    this.#varint(value);
    return this;
  }

  /**
   * A float field (wire type 5, little-endian float32).
   *
   * @param field The field number.
   * @param value The value, rounded to float32.
   * @returns This writer.
   */
  float(field: number, value: number): this {
    this.#key(field, FIXED32);
    this.#float32(value);
    return this;
  }

  #float32(value: number): void {
    const bytes = new Uint8Array(4);
    const view = new DataView(bytes.buffer);
    // The NaN bit pattern is left to the engine by ECMAScript: write the quiet NaN explicitly.
    if (Number.isNaN(value)) view.setUint32(0, QUIET_NAN_BITS, true);
    else view.setFloat32(0, value, true);
    this.#raw(bytes);
  }

  /**
   * A string field, UTF-8 (wire type 2).
   *
   * @param field The field number.
   * @param value The text.
   * @returns This writer.
   */
  string(field: number, value: string): this {
    return this.bytes(field, encoder.encode(value));
  }

  /**
   * A bytes field (wire type 2).
   *
   * @param field The field number.
   * @param value The bytes.
   * @returns This writer.
   */
  bytes(field: number, value: Uint8Array): this {
    this.#key(field, LENGTH_DELIMITED);
    this.#varint(value.length);
    this.#raw(value);
    return this;
  }

  /**
   * A nested message (wire type 2): `write` fills it through its own writer.
   *
   * @param field The field number.
   * @param write Writes the message's fields.
   * @returns This writer.
   */
  message(field: number, write: (writer: ProtoWriter) => void): this {
    const nested = new ProtoWriter();
    write(nested);
    return this.bytes(field, nested.finish());
  }

  /**
   * A packed repeated int32/int64 field; nothing for an empty list.
   *
   * @param field The field number.
   * @param values The integers.
   * @returns This writer.
   */
  packedIntegers(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    return this.message(field, (w) => {
      for (const value of values) w.#varint(value);
    });
  }

  /**
   * A packed repeated float field; nothing for an empty list.
   *
   * @param field The field number.
   * @param values The values, each rounded to float32.
   * @returns This writer.
   */
  packedFloats(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    return this.message(field, (w) => {
      for (const value of values) w.#float32(value);
    });
  }

  /**
   * The bytes written so far.
   *
   * @returns A copy of them.
   */
  finish(): Uint8Array {
    return this.#bytes.slice(0, this.#length);
  }
}
