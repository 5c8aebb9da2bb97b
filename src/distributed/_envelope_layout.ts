/**
 * The fixed layout of a batch envelope: its magic, header size, limits and
 * element-type codes, and the 8-byte alignment of its payload.
 *
 * @module
 */

export const MAGIC = [0x42, 0x43, 0x42, 0x45]; // "BCBE"
export const HEADER_BYTES = 20;
export const MAX_ID_BYTES = 1024;
export const MAX_META_BYTES = 65536;
export const MAX_RANK = 32;
export const DTYPE_CODES: Record<"float64" | "float32", number> = { float64: 1, float32: 2 };
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function align8(offset: number): number {
  return Math.ceil(offset / 8) * 8;
}
