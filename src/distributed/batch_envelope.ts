/**
 * The binary message that carries one mini-batch through a broker: a small
 * versioned header (id, shapes, element type, optional metadata) followed by
 * the features and confounds as little-endian float64 or float32.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import { type TensorLike, toDenseTensor } from "../core/tensor.ts";
import { distributedError } from "./distributed_error.ts";
import { ownOptions, readProperty } from "../core/own_properties.ts";
import { checkShapes } from "./_check_shapes.ts";
import { encodeId, encodeMeta, parseMeta } from "./_envelope_fields.ts";
import {
  align8,
  DTYPE_CODES,
  HEADER_BYTES,
  MAGIC,
  MAX_ID_BYTES,
  MAX_META_BYTES,
  MAX_RANK,
} from "./_envelope_layout.ts";
import { readValues, writeValues } from "./_envelope_payload.ts";

/** The envelope version written by {@linkcode encodeBatchEnvelope}. */
export const BATCH_ENVELOPE_VERSION = 1;

/** The element type of an envelope's payload. */
export type EnvelopeDtype = "float64" | "float32";

/** Small metadata travelling with a batch (where it came from in a file, a timestamp). */
export type EnvelopeMeta = Readonly<Record<string, string | number | boolean | null>>;

/** A batch to put into an envelope. */
export interface EnvelopeBatch {
  /** The batch's stable id: the same batch always has the same id (at most 1024 UTF-8 bytes). */
  id: string;
  /** Features, batch first, as `batchCorr` accepts them. */
  x: TensorLike;
  /** Confounds: `(B)` or `(M, B)`. */
  n: TensorLike;
  /** Optional metadata (a JSON object of scalars, at most 64 KiB as JSON). */
  meta?: EnvelopeMeta;
}

/** Options of {@linkcode encodeBatchEnvelope}. */
export interface EncodeBatchEnvelopeOptions {
  /**
   * The payload's element type. `"float32"` halves the bytes; values are
   * rounded to float32 (and must lie within its range), then read back as float64.
   * @default {"float64"}
   */
  dtype?: EnvelopeDtype;
}

/** Options of {@linkcode decodeBatchEnvelope} and {@linkcode safeDecodeBatchEnvelope}. */
export interface DecodeBatchEnvelopeOptions {
  /**
   * Copy the data out of `bytes`. `false` returns views over `bytes` where
   * they are aligned (the caller then must not modify `bytes` while it uses them).
   * @default {true}
   */
  copy?: boolean;
}

/** A decoded envelope: the batch with dense, row-major data. */
export interface DecodedBatch {
  /** The batch's id. */
  id: string;
  /** Features, `(B, d1, …, dk)`. */
  x: { data: Float64Array | Float32Array; shape: number[] };
  /** Confounds, `(B)` or `(M, B)`. */
  n: { data: Float64Array | Float32Array; shape: number[] };
  /** The payload's element type. */
  dtype: EnvelopeDtype;
  /** The metadata, when the envelope has any. */
  meta?: EnvelopeMeta;
}

/** The non-throwing twin's result. */
export type SafeDecodeResult =
  | { success: true; data: DecodedBatch }
  | { success: false; error: Error };

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes one batch as a version-1 envelope:
 *
 * | bytes | content |
 * | --- | --- |
 * | 0–3 | magic `"BCBE"` |
 * | 4–5 | u16 version (1) |
 * | 6 | u8 element type: 1 float64, 2 float32 |
 * | 7 | u8 rank of x (1–32) |
 * | 8 | u8 rank of n (1 or 2) |
 * | 9–11 | zero |
 * | 12–15 | u32 length of the id in UTF-8 bytes |
 * | 16–19 | u32 length of the metadata JSON in bytes (0: none) |
 * | 20– | u32 extents of x, then of n; the id; the metadata; zero padding to a multiple of 8 |
 * | then | x's elements, then n's, little-endian, row-major |
 *
 * Every integer is little-endian. The length is exact: a reader refuses
 * truncated or trailing bytes.
 *
 * @param batch The batch, its id and optional metadata.
 * @param options The payload's element type.
 * @returns The envelope's bytes.
 * @throws {TypeError} If the id is not a non-empty string of at most 1024 UTF-8
 * bytes, x or n is not a tensor, their batch sizes differ, n has rank other
 * than 1 or 2, or the metadata is not a JSON object of scalars.
 * @throws {RangeError} If a value is beyond float32's range with `dtype: "float32"`,
 * or the metadata is longer than 64 KiB.
 *
 * @example A round trip
 * ```ts
 * import { decodeBatchEnvelope, encodeBatchEnvelope } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeBatchEnvelope({ id: "day-1", x: [[1, 2], [3, 4], [5, 7]], n: [0.1, 0.3, 0.2] });
 * const batch = decodeBatchEnvelope(bytes);
 * assert.equal(batch.id, "day-1");
 * assert.deepEqual(batch.x.shape, [3, 2]);
 * assert.deepEqual(Array.from(batch.n.data), [0.1, 0.3, 0.2]);
 * ```
 */
export function encodeBatchEnvelope(
  batch: EnvelopeBatch,
  options: EncodeBatchEnvelopeOptions = {},
): Uint8Array {
  const context = "encode the batch envelope";
  // Own properties only (nothing from Object.prototype), each read once.
  options = ownOptions(options) as EncodeBatchEnvelopeOptions;
  if (typeof batch !== "object" || batch === null) {
    throw new TypeError(ruleMessage(context, "batch", "an object { id, x, n }", batch));
  }
  const dtype = options.dtype ?? "float64";
  if (dtype !== "float64" && dtype !== "float32") {
    throw new TypeError(ruleMessage(context, "options.dtype", '"float64" or "float32"', dtype));
  }
  // Each field read once, never from Object.prototype (a batch without meta has none).
  const field = (key: keyof EnvelopeBatch): unknown => readProperty(batch, key);
  const idBytes = encodeId(field("id") as string, context);
  const x = toDenseTensor(field("x") as TensorLike, "x", context);
  const n = toDenseTensor(field("n") as TensorLike, "n", context);
  checkShapes(x.shape, n.shape, context);
  const meta = field("meta") as EnvelopeBatch["meta"];
  const metaBytes = meta === undefined ? new Uint8Array(0) : encodeMeta(meta, context);
  const shapeBytes = 4 * (x.shape.length + n.shape.length);
  const payloadStart = align8(HEADER_BYTES + shapeBytes + idBytes.length + metaBytes.length);
  const width = dtype === "float64" ? 8 : 4;
  const out = new Uint8Array(payloadStart + width * (x.data.length + n.data.length));
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  view.setUint16(4, BATCH_ENVELOPE_VERSION, true);
  out[6] = DTYPE_CODES[dtype];
  out[7] = x.shape.length;
  out[8] = n.shape.length;
  view.setUint32(12, idBytes.length, true);
  view.setUint32(16, metaBytes.length, true);
  let offset = HEADER_BYTES;
  for (const extent of [...x.shape, ...n.shape]) {
    view.setUint32(offset, extent, true);
    offset += 4;
  }
  out.set(idBytes, offset);
  out.set(metaBytes, offset + idBytes.length);
  writeValues(out, payloadStart, x, dtype, "x", context);
  writeValues(out, payloadStart + width * x.data.length, n, dtype, "n", context);
  return out;
}

/**
 * Decodes an envelope written by {@linkcode encodeBatchEnvelope}. By default
 * the data is copied out, so the result does not alias `bytes`; with
 * `copy: false` x and n are typed-array views over `bytes` wherever their
 * start is aligned to the element size (always, for an envelope that starts
 * on a multiple of 8), which saves two allocations and copies of the payload
 * per batch. Values are not checked for finiteness here: the accumulator
 * refuses NaN and ±Infinity when the batch is folded in.
 *
 * @param bytes The envelope.
 * @param options Whether the data may alias `bytes`.
 * @returns The batch.
 * @throws {TypeError} If `bytes` is not a Uint8Array.
 * @throws {BatchCorrError} With code "invalid_envelope" for a wrong magic,
 * an unknown version or element type, an impossible rank or extent, an id or
 * metadata that is not valid UTF-8 (or JSON), or a length that does not match
 * the header (truncated or trailing bytes).
 *
 * @example Refusing a truncated envelope
 * ```ts
 * import { decodeBatchEnvelope, encodeBatchEnvelope } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const bytes = encodeBatchEnvelope({ id: "b", x: [[1], [2]], n: [3, 4] });
 * assert.throws(() => decodeBatchEnvelope(bytes.subarray(0, bytes.length - 1)), /length/);
 * ```
 */
export function decodeBatchEnvelope(
  bytes: Uint8Array,
  options: DecodeBatchEnvelopeOptions = {},
): DecodedBatch {
  const result = safeDecodeBatchEnvelope(bytes, options);
  if (result.success) return result.data;
  throw result.error;
}

/**
 * The non-throwing twin of {@linkcode decodeBatchEnvelope}, for untrusted bytes.
 *
 * @param bytes The envelope.
 * @param options Whether the data may alias `bytes`.
 * @returns `{ success: true, data }` or `{ success: false, error }`, where the
 * error is what {@linkcode decodeBatchEnvelope} would throw.
 *
 * @example Telling a poisoned message apart
 * ```ts
 * import { safeDecodeBatchEnvelope } from "@streamcorr/batch-corr/distributed";
 * import assert from "node:assert/strict";
 *
 * const result = safeDecodeBatchEnvelope(new TextEncoder().encode("this text is certainly not a batch"));
 * assert.equal(result.success, false);
 * if (!result.success) assert.match(result.error.message, /magic/);
 * ```
 */
export function safeDecodeBatchEnvelope(
  bytes: Uint8Array,
  options: DecodeBatchEnvelopeOptions = {},
): SafeDecodeResult {
  try {
    return { success: true, data: decodeUnchecked(bytes, options?.copy !== false) };
  } catch (error) {
    return { success: false, error: error as Error };
  }
}

function decodeUnchecked(bytes: Uint8Array, copy: boolean): DecodedBatch {
  const context = "decode the batch envelope";
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(ruleMessage(context, "bytes", "a Uint8Array", bytes));
  }
  const invalid = (subject: string, rule: string, value: unknown) =>
    distributedError("invalid_envelope", ruleMessage(context, subject, rule, value));
  if (bytes.length < HEADER_BYTES) {
    throw invalid("its length", `at least ${HEADER_BYTES} bytes (the header)`, bytes.length);
  }
  if (MAGIC.some((byte, i) => bytes[i] !== byte)) {
    throw invalid("its magic", '"BCBE"', String.fromCharCode(...bytes.subarray(0, 4)));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(4, true);
  if (version !== BATCH_ENVELOPE_VERSION) {
    throw invalid("its version", String(BATCH_ENVELOPE_VERSION), version);
  }
  const dtypeCode = bytes[6]!;
  const dtype: EnvelopeDtype | undefined = dtypeCode === 1
    ? "float64"
    : dtypeCode === 2
    ? "float32"
    : undefined;
  if (dtype === undefined) {
    throw invalid("its element type", "1 (float64) or 2 (float32)", dtypeCode);
  }
  const xRank = bytes[7]!, nRank = bytes[8]!;
  if (xRank < 1 || xRank > MAX_RANK) throw invalid("the rank of x", `in 1–${MAX_RANK}`, xRank);
  if (nRank !== 1 && nRank !== 2) throw invalid("the rank of n", "1 or 2", nRank);
  if (bytes[9] !== 0 || bytes[10] !== 0 || bytes[11] !== 0) {
    throw invalid("bytes 9–11", "zero", `${bytes[9]}, ${bytes[10]}, ${bytes[11]}`);
  }
  const idLength = view.getUint32(12, true), metaLength = view.getUint32(16, true);
  if (idLength < 1 || idLength > MAX_ID_BYTES) {
    throw invalid("the id's length", `in 1–${MAX_ID_BYTES} bytes`, idLength);
  }
  if (metaLength > MAX_META_BYTES) {
    throw invalid("the metadata's length", `at most ${MAX_META_BYTES} bytes`, metaLength);
  }
  const shapesEnd = HEADER_BYTES + 4 * (xRank + nRank);
  const payloadStart = align8(shapesEnd + idLength + metaLength);
  if (bytes.length < payloadStart) {
    throw invalid(
      "its length",
      `at least ${payloadStart} bytes (header, shapes, id, metadata)`,
      bytes.length,
    );
  }
  const extents: number[] = [];
  for (let offset = HEADER_BYTES; offset < shapesEnd; offset += 4) {
    extents.push(view.getUint32(offset, true));
  }
  const xShape = extents.slice(0, xRank), nShape = extents.slice(xRank);
  if (extents.some((extent) => extent < 1)) {
    throw invalid(
      "every extent",
      "a positive integer",
      `x [${xShape.join(", ")}], n [${nShape.join(", ")}]`,
    );
  }
  const batchSize = xShape[0]!;
  if (nShape[nShape.length - 1] !== batchSize) {
    throw invalid("n's last extent", `x's batch size ${batchSize}`, nShape[nShape.length - 1]);
  }
  const xCount = xShape.reduce((a, b) => a * b, 1), nCount = nShape.reduce((a, b) => a * b, 1);
  const width = dtype === "float64" ? 8 : 4;
  const expected = payloadStart + width * (xCount + nCount);
  if (bytes.length !== expected) {
    throw invalid(
      "its length",
      `${expected} bytes for x [${xShape.join(", ")}] and n [${nShape.join(", ")}] in ${dtype}`,
      bytes.length,
    );
  }
  let id: string, metaText: string;
  try {
    id = decoder.decode(bytes.subarray(shapesEnd, shapesEnd + idLength));
    metaText = decoder.decode(
      bytes.subarray(shapesEnd + idLength, shapesEnd + idLength + metaLength),
    );
  } catch {
    throw invalid("the id and metadata", "valid UTF-8", "undecodable bytes");
  }
  const meta = metaLength === 0 ? undefined : parseMeta(metaText, invalid);
  const x = readValues(bytes, payloadStart, xCount, dtype, copy);
  const n = readValues(bytes, payloadStart + width * xCount, nCount, dtype, copy);
  const decoded: DecodedBatch = {
    id,
    x: { data: x, shape: xShape },
    n: { data: n, shape: nShape },
    dtype,
  };
  if (meta) decoded.meta = meta;
  return decoded;
}
