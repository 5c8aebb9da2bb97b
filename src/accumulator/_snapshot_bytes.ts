/**
 * The binary snapshot of a correlation accumulator: "BCAS", u32 version (2),
 * u32 rank (or 0xffffffff when unknown), u32 confounds (0 when unknown), u32
 * extents, zero padding to 8 bytes, then float64 count, Σw², meanX, meanN,
 * meanXLo, meanNLo, m2X, m2N, comoment; all little-endian. Version 1 is the
 * same without meanXLo and meanNLo.
 *
 * The layout (magic, version, header, exact length) is read first, so that a
 * corrupted header can never make the decoder read or allocate past the
 * buffer; the numbers it holds are then validated by a zod schema with the
 * rules the JSON snapshot shares.
 *
 * @module
 */

import { z } from "zod";
import { shapeText } from "../core/errors.ts";
import { emptyPreciseMoments } from "../core/precise_means.ts";
import type { MeanLowParts } from "../core/precise_means.ts";
import type { BatchMoments } from "../core/batch_moments.ts";
import {
  addIssue,
  cauchySchwarzIssue,
  countsIssue,
  type DecodeResult,
  elementsIssue,
  emptyIssue,
  errorOf,
  errorOfIssues,
  expectationsIssue,
  firstIssue,
  invalidSnapshot,
  limitIssue,
  lowPartsIssue,
  READABLE_VERSIONS,
  refused,
  SNAPSHOT_VERSION,
  type SnapshotExpectations,
  type SnapshotState,
  UNKNOWN,
  VERSION_RULE,
} from "./_snapshot_rules.ts";

/** The first four bytes of a binary snapshot ("BCAS"). */
const MAGIC = [0x42, 0x43, 0x41, 0x53];

/**
 * Encodes a state in the binary form.
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
  view.setFloat64(headerLength, m?.count ?? 0, true);
  view.setFloat64(headerLength + 8, state.weightSquares, true);
  if (m) {
    const lows = [m.meanXLo ?? new Float64Array(F), m.meanNLo ?? new Float64Array(M)];
    let offset = headerLength + 16;
    for (const vector of [m.meanX, m.meanN, ...lows, m.m2X, m.m2N, m.comoment]) {
      writeFloats(bytes, view, offset, vector);
      offset += 8 * vector.length;
    }
  }
  return bytes;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Float64 values at `offset` (a multiple of 8 of a fresh buffer): one typed copy on little-endian hosts. */
function writeFloats(
  bytes: Uint8Array,
  view: DataView,
  offset: number,
  values: Float64Array,
): void {
  if (LITTLE_ENDIAN) {
    new Float64Array(bytes.buffer, bytes.byteOffset + offset, values.length).set(values);
    return;
  }
  for (let i = 0; i < values.length; i++) view.setFloat64(offset + 8 * i, values[i]!, true);
}

/** Float64 values from `offset` into `out`: one byte copy on little-endian hosts. */
function readFloats(view: DataView, offset: number, out: Float64Array): void {
  if (LITTLE_ENDIAN) {
    const source = new Uint8Array(view.buffer, view.byteOffset + offset, 8 * out.length);
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(source);
    return;
  }
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(offset + 8 * i, true);
}

/** The number of float64 after the header: count, Σw², then the state's arrays. */
function floatCount(version: number, F: number, M: number): number {
  const lowParts = version === 1 ? 0 : F + M;
  return 2 + 2 * F + 2 * M + lowParts + F * M;
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** The header of a binary snapshot, once its layout has been checked. */
interface Layout {
  version: number;
  featureShape: number[] | undefined;
  confounds: number | undefined;
  /** F of the stored state, 0 while the shape is unknown. */
  features: number;
  /** M of the stored state, 0 while the shape is unknown. */
  stateConfounds: number;
  /** Where the float64 values start. */
  headerLength: number;
}

/** Reads and checks the header and the length; a refusal names what is wrong. */
function readLayout(
  bytes: Uint8Array,
  view: DataView,
  expected: SnapshotExpectations,
): Layout | DecodeResult {
  if (bytes.length < 16 || !MAGIC.every((b, i) => bytes[i] === b)) {
    const seen = bytes.length < 4 ? `${bytes.length} bytes` : "other bytes";
    return refused(invalidSnapshot('it must start with the magic bytes "BCAS"', seen));
  }
  const version = view.getUint32(4, true);
  if (!READABLE_VERSIONS.includes(version)) {
    return refused(invalidSnapshot(VERSION_RULE, String(version)));
  }
  const rankField = view.getUint32(8, true);
  const confoundsField = view.getUint32(12, true);
  const known = rankField !== UNKNOWN;
  const rank = known ? rankField : 0;
  // Checked before reading extents, so a corrupted rank cannot make us read or allocate past the buffer.
  const headerLength = align8(16 + 4 * rank);
  if (bytes.length < headerLength + 16) {
    const rule = `it must be at least ${headerLength + 16} bytes long for rank ${rank}`;
    return refused(invalidSnapshot(rule, `${bytes.length} bytes (truncated)`));
  }
  const featureShape = known
    ? Array.from({ length: rank }, (_, i) => view.getUint32(16 + 4 * i, true))
    : undefined;
  if (featureShape && featureShape.some((e) => e === 0)) {
    return refused(
      invalidSnapshot("every extent of featureShape must be positive", shapeText(featureShape)),
    );
  }
  const confounds = confoundsField === 0 ? undefined : confoundsField;
  const F = featureShape && confounds !== undefined ? featureShape.reduce((a, b) => a * b, 1) : 0;
  const M = featureShape && confounds !== undefined ? confounds : 0;
  // The cap before the length check too, so a legitimate but oversized snapshot is told how to raise it.
  const found = firstIssue(
    () => expectationsIssue(featureShape, confounds, expected),
    () => limitIssue(F, M, expected),
  );
  if (found) return refused(errorOf(found));
  const expectedLength = headerLength + 8 * floatCount(version, F, M);
  if (bytes.length !== expectedLength) {
    const shape = featureShape?.join(", ") ?? "unknown";
    const rule =
      `it must be exactly ${expectedLength} bytes long for featureShape [${shape}] and ${M} confounds`;
    const seen = `${bytes.length} bytes (${
      bytes.length < expectedLength ? "truncated" : "trailing data"
    })`;
    return refused(invalidSnapshot(rule, seen));
  }
  return { version, featureShape, confounds, features: F, stateConfounds: M, headerLength };
}

/** The values after the header: count, Σw², and the state's vectors (when the shape is known). */
interface Values {
  count: number;
  weightSquares: number;
  moments: (BatchMoments & MeanLowParts) | undefined;
}

function readValues(view: DataView, layout: Layout): Values {
  const count = view.getFloat64(layout.headerLength, true);
  const weightSquares = view.getFloat64(layout.headerLength + 8, true);
  let offset = layout.headerLength + 16;
  const F = layout.features, M = layout.stateConfounds;
  if (F === 0) return { count, weightSquares, moments: undefined };
  const moments = emptyPreciseMoments(F, M);
  moments.count = count;
  // Version 1 has no low parts: they stay 0.
  const lows = layout.version === 1 ? [] : [moments.meanXLo, moments.meanNLo];
  for (
    const vector of [
      moments.meanX,
      moments.meanN,
      ...lows,
      moments.m2X,
      moments.m2N,
      moments.comoment,
    ]
  ) {
    readFloats(view, offset, vector);
    offset += 8 * vector.length;
  }
  return { count, weightSquares, moments };
}

/** The rules on the values, in order: counts, finite elements (field by field, as stored), the moments' own bounds. */
function valuesSchema(layout: Layout) {
  return z.custom<Values>().transform((values, ctx): SnapshotState | typeof z.NEVER => {
    const { featureShape, confounds } = layout;
    const m = values.moments;
    const lows: [string, Float64Array, boolean][] = m && layout.version !== 1
      ? [["meanXLo", m.meanXLo, false], ["meanNLo", m.meanNLo, false]]
      : [];
    const fields: [string, Float64Array, boolean][] = m
      ? [["meanX", m.meanX, false], ["meanN", m.meanN, false], ...lows, ["m2X", m.m2X, true], [
        "m2N",
        m.m2N,
        true,
      ], ["comoment", m.comoment, false]]
      : [];
    const found = firstIssue(
      () => countsIssue(values.count, values.weightSquares),
      () => m ? undefined : emptyIssue(values.count),
      ...fields.map(([key, vector, nonNegative]) => () => elementsIssue(key, vector, nonNegative)),
      () => m ? lowPartsIssue(m) : undefined,
      () => m ? cauchySchwarzIssue(m) : undefined,
    );
    if (found) {
      addIssue(ctx, found);
      return z.NEVER;
    }
    return { featureShape, confounds, weightSquares: m ? values.weightSquares : 0, moments: m };
  });
}

/** A refusal rather than a layout: told by its own key, never by one Object.prototype holds. */
function isRefusal(layout: Layout | DecodeResult): layout is DecodeResult {
  return Object.hasOwn(layout, "success");
}

/**
 * Decodes and validates a binary snapshot, reporting failure as a value.
 *
 * @param bytes The snapshot.
 * @param expected The shape it must have and the element cap.
 * @returns The state, or the error: "invalid_snapshot" for anything
 * malformed, "resource_limit" for a declared F·M above the cap.
 */
export function decodeSnapshotBytes(
  bytes: Uint8Array,
  expected: SnapshotExpectations,
): DecodeResult {
  if (!(bytes instanceof Uint8Array)) {
    return refused(invalidSnapshot("it must be a Uint8Array", typeof bytes));
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const layout = readLayout(bytes, view, expected);
  if (isRefusal(layout)) return layout;
  const parsed = valuesSchema(layout).safeParse(readValues(view, layout));
  return parsed.success
    ? { success: true, data: parsed.data }
    : refused(errorOfIssues(parsed.error.issues));
}
