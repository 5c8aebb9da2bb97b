/**
 * Snapshots of a correlation accumulator: a versioned plain-JSON form and a
 * compact binary form, and their strict validation on restore.
 *
 * @module
 */

import { BatchCorrError, describeValue } from "../core/errors.ts";
import { checkElementLimit } from "../core/limits.ts";
import type { BatchMoments } from "../kernels/compute_batch_moments.ts";
import { emptyPreciseMoments, type MeanLowParts, type PreciseMoments } from "../core/precise_means.ts";

/** The identifier in every JSON snapshot. */
export const SNAPSHOT_FORMAT = "batch-corr/accumulator" as const;
/**
 * The snapshot version written by this library. Version 2 added the low parts
 * of the means (`meanXLo`, `meanNLo`); version 1 snapshots are still read,
 * with low parts of 0 (the precision they were taken with).
 */
export const SNAPSHOT_VERSION = 2 as const;
/** Every version {@linkcode decodeSnapshotJSON} and {@linkcode decodeSnapshotBytes} read. */
const READABLE_VERSIONS: readonly number[] = [1, 2];
const VERSION_RULE = "version must be 1 or 2";
/** The first four bytes of a binary snapshot ("BCAS"). */
const MAGIC = [0x42, 0x43, 0x41, 0x53];
/** Written as the rank when the feature shape is not known yet. */
const UNKNOWN = 0xffffffff;

/**
 * The JSON snapshot of a {@linkcode CorrelationAccumulator} (version 2).
 * Arrays are empty while the shape is not known. Version 1 snapshots, which
 * lack `meanXLo` and `meanNLo`, are still restored (low parts 0).
 */
export interface AccumulatorSnapshot {
  /** Always "batch-corr/accumulator". */
  format: "batch-corr/accumulator";
  /** The snapshot version, 2. */
  version: 2;
  /** X's shape without the batch axis, or null while unknown. */
  featureShape: number[] | null;
  /** M, or null while unknown. */
  confounds: number | null;
  /** Samples folded in (a sum of weights with exponential forgetting). */
  count: number;
  /** Σw², for the effective sample size (equals count for unit weights). */
  weightSquares: number;
  /** Feature means, natural column order, length F (rounded to float64; see `meanXLo`). */
  meanX: number[];
  /** Confound means, length M (rounded to float64; see `meanNLo`). */
  meanN: number[];
  /**
   * Low parts of the feature means: the mean is `meanX + meanXLo`, to about
   * 1e-32 relative (0 where float64 is precise enough), length F.
   */
  meanXLo: number[];
  /** Low parts of the confound means, length M. */
  meanNLo: number[];
  /** Feature sums of squared deviations, length F. */
  m2X: number[];
  /** Confound sums of squared deviations, length M. */
  m2N: number[];
  /** Co-moment, row-major `(F, M)`, natural feature order. */
  comoment: number[];
}

/** The accumulator's state as the snapshot codecs see it. */
export interface SnapshotState {
  featureShape: number[] | undefined;
  confounds: number | undefined;
  weightSquares: number;
  moments: PreciseMoments | undefined;
}

/** The shape a restored snapshot must have, when the caller says so. */
export interface SnapshotExpectations {
  featureShape: number[] | undefined;
  confounds: number | undefined;
  /** The largest F·M the snapshot may declare. */
  maxElements: number;
}

const RESTORE_CONTEXT = "restore the CorrelationAccumulator snapshot";
const RESTORE_OPTION = "expected.maxElements (the second argument of fromJSON / fromBytes)";

const KEYS_V1 = [
  "format",
  "version",
  "featureShape",
  "confounds",
  "count",
  "weightSquares",
  "meanX",
  "meanN",
  "m2X",
  "m2N",
  "comoment",
] as const;
const KEYS = [...KEYS_V1, "meanXLo", "meanNLo"] as const;

/**
 * A low part far beyond a mean's rounding error (which is below 2⁻⁵² of the
 * mean) can only be corruption: it would shift the mean silently.
 */
const LOW_PART_BOUND = 2 ** -40;

/**
 * Shows an untrusted value in a message without ever throwing: `String()` of
 * a null-prototype object and `JSON.stringify` of a BigInt or a cycle would.
 */
function shown(value: unknown): string {
  if (Array.isArray(value) && value.length <= 8 && value.every((e) => typeof e === "number")) return `[${value.join(", ")}]`;
  return describeValue(value);
}

function invalid(rule: string, value: string): BatchCorrError {
  return new BatchCorrError("invalid_snapshot", `Cannot restore the CorrelationAccumulator snapshot as ${rule}: current value is ${value}`);
}

/**
 * Encodes a state as a JSON snapshot.
 *
 * @param state The state.
 * @returns The snapshot.
 */
export function encodeSnapshotJSON(state: SnapshotState): AccumulatorSnapshot {
  const m = state.moments && state.featureShape && state.confounds !== undefined ? state.moments : undefined;
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    featureShape: state.featureShape ? [...state.featureShape] : null,
    confounds: state.confounds ?? null,
    count: m?.count ?? 0,
    weightSquares: state.weightSquares,
    meanX: m ? Array.from(m.meanX) : [],
    meanN: m ? Array.from(m.meanN) : [],
    meanXLo: m ? lowParts(m.meanXLo, m.features) : [],
    meanNLo: m ? lowParts(m.meanNLo, m.confounds) : [],
    m2X: m ? Array.from(m.m2X) : [],
    m2N: m ? Array.from(m.m2N) : [],
    comoment: m ? Array.from(m.comoment) : [],
  };
}

function lowParts(lo: Float64Array | undefined, length: number): number[] {
  return lo ? Array.from(lo) : new Array<number>(length).fill(0);
}

/** Rejects keys that could reach an object's prototype if ever copied. */
function rejectPrototypeKeys(key: string, value: unknown): unknown {
  if (key === "__proto__" || key === "constructor" || key === "prototype") {
    throw invalid("it must not have a key named __proto__, constructor or prototype", JSON.stringify(key));
  }
  return value;
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text, rejectPrototypeKeys);
  } catch (error) {
    if (error instanceof BatchCorrError) throw error;
    throw invalid("it must be valid JSON", `text that does not parse (${(error as Error).message})`);
  }
}

function readRecord(input: unknown): Record<string, unknown> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid("it must be an object or its JSON text", typeof input);
  }
  const prototype = Object.getPrototypeOf(input);
  if (prototype !== Object.prototype && prototype !== null) {
    throw invalid("it must be a plain object", "an object with a custom prototype");
  }
  const record: Record<string, unknown> = Object.create(null);
  const version: unknown = (input as Record<string, unknown>).version;
  // A version 1 snapshot has no low parts; anything else is held to the current keys.
  const keys: readonly string[] = version === 1 ? KEYS_V1 : KEYS;
  for (const key of Reflect.ownKeys(input)) {
    if (typeof key !== "string") throw invalid("it must only have string keys", "a symbol key");
    rejectPrototypeKeys(key, undefined);
    if (!keys.includes(key)) {
      throw invalid(`it must only have the keys ${keys.join(", ")}`, `an extra key ${JSON.stringify(key)}`);
    }
    record[key] = (input as Record<string, unknown>)[key];
  }
  for (const key of keys) {
    if (!(key in record)) throw invalid(`it must have the key ${JSON.stringify(key)}`, "missing");
  }
  return record;
}

function readNumberArray(value: unknown, key: string, length: number, nonNegative: boolean): Float64Array {
  if (!Array.isArray(value)) throw invalid(`${key} must be an array of numbers`, typeof value);
  if (value.length !== length) {
    throw invalid(`${key} must have length ${length} (from featureShape and confounds)`, `length ${value.length}`);
  }
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) {
    const v: unknown = value[i];
    if (typeof v !== "number" || !Number.isFinite(v) || (nonNegative && v < 0)) {
      throw invalid(`every element of ${key} must be a finite${nonNegative ? " non-negative" : ""} number`, `${shown(v)} at index ${i}`);
    }
    out[i] = v;
  }
  return out;
}

function readShape(value: unknown): number[] | undefined {
  if (value === null) return undefined;
  if (!Array.isArray(value) || !value.every((e) => typeof e === "number" && Number.isInteger(e) && e > 0 && e < UNKNOWN)) {
    throw invalid("featureShape must be null or an array of positive integers", shown(value));
  }
  return [...value] as number[];
}

function readConfounds(value: unknown): number | undefined {
  if (value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value >= UNKNOWN) {
    throw invalid("confounds must be null or a positive integer", shown(value));
  }
  return value;
}

function checkCounts(count: number, weightSquares: number): void {
  if (!(Number.isFinite(count) && count >= 0)) throw invalid("count must be a finite non-negative number", String(count));
  if (!(Number.isFinite(weightSquares) && weightSquares >= 0)) {
    throw invalid("weightSquares must be a finite non-negative number", String(weightSquares));
  }
  if ((count === 0) !== (weightSquares === 0)) {
    throw invalid("weightSquares must be 0 exactly when count is 0", `count ${count} with weightSquares ${weightSquares}`);
  }
  // Σw² ≤ (Σw)² for non-negative weights; allow rounding.
  if (weightSquares > count * count * (1 + 1e-12)) {
    throw invalid("weightSquares (Σw²) must not exceed count² ((Σw)²)", String(weightSquares));
  }
}

/**
 * Rejects a co-moment that no data could produce: by Cauchy–Schwarz
 * `|C| ≤ √M2x·√M2n`, so |r| ≤ 1. A corrupted number that is still finite
 * would otherwise restore as a correlation such as 37. Slack covers rounding.
 */
function checkCauchySchwarz(moments: BatchMoments): void {
  const { features: F, confounds: M, m2X, m2N, comoment } = moments;
  for (let f = 0; f < F; f++) {
    const sx = Math.sqrt(m2X[f]!);
    for (let m = 0; m < M; m++) {
      const bound = sx * Math.sqrt(m2N[m]!);
      const c = comoment[f * M + m]!;
      if (bound > 0 && Math.abs(c) > bound * (1 + 1e-9)) {
        throw invalid(
          "every comoment must satisfy |comoment| ≤ √m2X·√m2N (a correlation within [-1, 1])",
          `${c} at index ${f * M + m}, with bound ${bound}`,
        );
      }
    }
  }
}

/** Rejects a low part that is not a mean's rounding error (see {@linkcode LOW_PART_BOUND}). */
function checkLowParts(moments: BatchMoments & MeanLowParts): void {
  const pairs: [string, Float64Array, Float64Array][] = [["meanXLo", moments.meanX, moments.meanXLo], ["meanNLo", moments.meanN, moments.meanNLo]];
  for (const [key, hi, lo] of pairs) {
    for (let i = 0; i < lo.length; i++) {
      if (Math.abs(lo[i]!) > Math.abs(hi[i]!) * LOW_PART_BOUND) {
        throw invalid(
          `every element of ${key} must be at most 2^-40 times its mean in magnitude (it holds the mean's rounding error)`,
          `${lo[i]} at index ${i}, with mean ${hi[i]}`,
        );
      }
    }
  }
}

function checkExpectations(featureShape: number[] | undefined, confounds: number | undefined, expected: SnapshotExpectations): void {
  if (expected.featureShape) {
    const same = featureShape !== undefined && featureShape.length === expected.featureShape.length &&
      featureShape.every((e, i) => e === expected.featureShape![i]);
    if (!same) {
      throw invalid(
        `its featureShape must be [${expected.featureShape.join(", ")}]`,
        featureShape ? `[${featureShape.join(", ")}]` : "unknown",
      );
    }
  }
  if (expected.confounds !== undefined && confounds !== expected.confounds) {
    throw invalid(`its number of confounds must be ${expected.confounds}`, String(confounds ?? "unknown"));
  }
}

function emptyState(featureShape: number[] | undefined, confounds: number | undefined, count: number): SnapshotState {
  if (count !== 0) throw invalid("count must be 0 while featureShape or confounds is unknown", String(count));
  return { featureShape, confounds, weightSquares: 0, moments: undefined };
}

/**
 * Decodes and validates a JSON snapshot.
 *
 * @param json The snapshot object or its JSON text.
 * @param expected The shape it must have.
 * @returns The state.
 * @throws {BatchCorrError} "invalid_snapshot" for anything malformed.
 */
export function decodeSnapshotJSON(json: unknown, expected: SnapshotExpectations): SnapshotState {
  const record = readRecord(typeof json === "string" ? parseText(json) : json);
  if (record.format !== SNAPSHOT_FORMAT) {
    throw invalid(`format must be ${JSON.stringify(SNAPSHOT_FORMAT)}`, shown(record.format));
  }
  if (!READABLE_VERSIONS.includes(record.version as number)) throw invalid(VERSION_RULE, shown(record.version));
  const featureShape = readShape(record.featureShape);
  const confounds = readConfounds(record.confounds);
  checkExpectations(featureShape, confounds, expected);
  if (featureShape && confounds !== undefined) {
    checkElementLimit(featureShape.reduce((a, b) => a * b, 1), confounds, expected.maxElements, RESTORE_CONTEXT, RESTORE_OPTION);
  }
  const count = record.count, weightSquares = record.weightSquares;
  if (typeof count !== "number") throw invalid("count must be a number", typeof count);
  if (typeof weightSquares !== "number") throw invalid("weightSquares must be a number", typeof weightSquares);
  checkCounts(count, weightSquares);
  const known = featureShape !== undefined && confounds !== undefined;
  const F = known ? featureShape.reduce((a, b) => a * b, 1) : 0;
  const M = known ? confounds : 0;
  const meanX = readNumberArray(record.meanX, "meanX", F, false);
  const meanN = readNumberArray(record.meanN, "meanN", M, false);
  const m2X = readNumberArray(record.m2X, "m2X", F, true);
  const m2N = readNumberArray(record.m2N, "m2N", M, true);
  const comoment = readNumberArray(record.comoment, "comoment", F * M, false);
  const v1 = record.version === 1;
  const meanXLo = v1 ? new Float64Array(F) : readNumberArray(record.meanXLo, "meanXLo", F, false);
  const meanNLo = v1 ? new Float64Array(M) : readNumberArray(record.meanNLo, "meanNLo", M, false);
  if (!known) return emptyState(featureShape, confounds, count);
  const moments: BatchMoments & MeanLowParts = { count, features: F, confounds: M, meanX, meanN, m2X, m2N, comoment, meanXLo, meanNLo };
  checkLowParts(moments);
  checkCauchySchwarz(moments);
  return { featureShape, confounds, weightSquares, moments };
}

/**
 * Encodes a state in the binary form: "BCAS", u32 version (2), u32 rank (or
 * 0xffffffff when unknown), u32 confounds (0 when unknown), u32 extents, zero
 * padding to 8 bytes, then float64 count, Σw², meanX, meanN, meanXLo,
 * meanNLo, m2X, m2N, comoment; all little-endian. Version 1 is the same
 * without meanXLo and meanNLo.
 *
 * @param state The state.
 * @returns The bytes.
 */
export function encodeSnapshotBytes(state: SnapshotState): Uint8Array {
  const shape = state.featureShape;
  const rank = shape ? shape.length : 0;
  const headerLength = align8(16 + 4 * rank);
  const m = state.moments && shape && state.confounds !== undefined ? state.moments : undefined;
  const F = m?.features ?? 0, M = m?.confounds ?? 0;
  const floats = floatCount(SNAPSHOT_VERSION, F, M);
  const bytes = new Uint8Array(headerLength + 8 * floats);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(4, SNAPSHOT_VERSION, true);
  view.setUint32(8, shape ? rank : UNKNOWN, true);
  view.setUint32(12, state.confounds ?? 0, true);
  shape?.forEach((extent, i) => view.setUint32(16 + 4 * i, extent, true));
  let offset = headerLength;
  const write = (v: number): void => {
    view.setFloat64(offset, v, true);
    offset += 8;
  };
  write(m?.count ?? 0);
  write(state.weightSquares);
  if (m) {
    const lows = [m.meanXLo ?? new Float64Array(F), m.meanNLo ?? new Float64Array(M)];
    for (const vector of [m.meanX, m.meanN, ...lows, m.m2X, m.m2N, m.comoment]) vector.forEach(write);
  }
  return bytes;
}

/** The number of float64 after the header: count, Σw², then the state's arrays. */
function floatCount(version: number, F: number, M: number): number {
  const lowParts = version === 1 ? 0 : F + M;
  return 2 + 2 * F + 2 * M + lowParts + F * M;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/**
 * Decodes and validates a binary snapshot.
 *
 * @param bytes The snapshot.
 * @param expected The shape it must have.
 * @returns The state.
 * @throws {BatchCorrError} "invalid_snapshot" for anything malformed.
 */
export function decodeSnapshotBytes(bytes: Uint8Array, expected: SnapshotExpectations): SnapshotState {
  if (!(bytes instanceof Uint8Array)) throw invalid("it must be a Uint8Array", typeof bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || !MAGIC.every((b, i) => bytes[i] === b)) {
    throw invalid('it must start with the magic bytes "BCAS"', bytes.length < 4 ? `${bytes.length} bytes` : "other bytes");
  }
  const version = view.getUint32(4, true);
  if (!READABLE_VERSIONS.includes(version)) throw invalid(VERSION_RULE, String(version));
  const rankField = view.getUint32(8, true);
  const confoundsField = view.getUint32(12, true);
  const known = rankField !== UNKNOWN;
  const rank = known ? rankField : 0;
  // Checked before reading extents, so a corrupted rank cannot make us read or allocate past the buffer.
  const headerLength = align8(16 + 4 * rank);
  if (bytes.length < headerLength + 16) {
    throw invalid(`it must be at least ${headerLength + 16} bytes long for rank ${rank}`, `${bytes.length} bytes (truncated)`);
  }
  const featureShape = known ? Array.from({ length: rank }, (_, i) => view.getUint32(16 + 4 * i, true)) : undefined;
  if (featureShape && featureShape.some((e) => e === 0)) {
    throw invalid("every extent of featureShape must be positive", `[${featureShape.join(", ")}]`);
  }
  const confounds = confoundsField === 0 ? undefined : confoundsField;
  checkExpectations(featureShape, confounds, expected);
  const F = featureShape && confounds !== undefined ? featureShape.reduce((a, b) => a * b, 1) : 0;
  const M = featureShape && confounds !== undefined ? confounds : 0;
  // Before the length check too, so a legitimate but oversized snapshot is told how to raise the cap.
  if (F > 0) checkElementLimit(F, M, expected.maxElements, RESTORE_CONTEXT, RESTORE_OPTION);
  const floats = floatCount(version, F, M);
  const expectedLength = headerLength + 8 * floats;
  if (bytes.length !== expectedLength) {
    throw invalid(
      `it must be exactly ${expectedLength} bytes long for featureShape [${featureShape?.join(", ") ?? "unknown"}] and ${M} confounds`,
      `${bytes.length} bytes (${bytes.length < expectedLength ? "truncated" : "trailing data"})`,
    );
  }
  let offset = headerLength;
  const read = (): number => {
    const v = view.getFloat64(offset, true);
    offset += 8;
    return v;
  };
  const count = read(), weightSquares = read();
  checkCounts(count, weightSquares);
  if (F === 0) return emptyState(featureShape, confounds, count);
  const moments = emptyPreciseMoments(F, M);
  moments.count = count;
  const lowFields: [string, Float64Array, boolean][] = [["meanXLo", moments.meanXLo, false], ["meanNLo", moments.meanNLo, false]];
  const fields: [string, Float64Array, boolean][] = [
    ["meanX", moments.meanX, false],
    ["meanN", moments.meanN, false],
    // Version 1 has none: they stay 0.
    ...(version === 1 ? [] : lowFields),
    ["m2X", moments.m2X, true],
    ["m2N", moments.m2N, true],
    ["comoment", moments.comoment, false],
  ];
  for (const [key, vector, nonNegative] of fields) {
    for (let i = 0; i < vector.length; i++) {
      const v = read();
      if (!Number.isFinite(v) || (nonNegative && v < 0)) {
        throw invalid(`every element of ${key} must be a finite${nonNegative ? " non-negative" : ""} number`, `${v} at index ${i}`);
      }
      vector[i] = v;
    }
  }
  checkLowParts(moments);
  checkCauchySchwarz(moments);
  return { featureShape, confounds, weightSquares, moments };
}
