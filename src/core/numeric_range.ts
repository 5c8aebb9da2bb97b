/**
 * Where float64 runs out for a batch's sums of squares: underflow of a
 * varying column, overflow, and non-finite values.
 *
 * @module
 */

import type { BatchMoments } from "./batch_moments.ts";
import { isConstantColumn } from "./constant_column.ts";
import type { PreparedBatch } from "./prepare_batch.ts";

/** Sums of squares below this have lost digits to subnormal underflow. */
export const UNDERFLOW_RISK = 1e-250;

/**
 * Whether some column varies but its squared deviations underflowed (values
 * below about 1e-125), which would report it as zero-variance or imprecise.
 *
 * @param batch The batch.
 * @param moments Its moments.
 * @param flagged The features to look at, when the kernel listed them (every
 * column with a sum of squares below 1e-250 is among them); all F otherwise.
 * @returns True when {@linkcode rescaleBatch} should be used.
 */
export function hasUnderflow(
  batch: PreparedBatch,
  moments: BatchMoments,
  flagged?: Int32Array,
): boolean {
  const { count: B, features: F, confounds: M } = batch;
  const columns = flagged ? flagged.length : F;
  for (let i = 0; i < columns; i++) {
    const f = flagged ? flagged[i]! : i;
    if (moments.m2X[f]! < UNDERFLOW_RISK && !isConstantColumn(batch.x, f, F, B)) return true;
  }
  for (let m = 0; m < M; m++) {
    if (moments.m2N[m]! < UNDERFLOW_RISK && !isConstantColumn(batch.n, m * B, 1, B)) return true;
  }
  return false;
}

/** A column whose sum of squares left float64's usable range. */
export interface UnrepresentableColumn {
  /** Whether it is a feature column of X or a confound row of N. */
  side: "features" | "confounds";
  /** Its index (natural column order for features). */
  index: number;
  /** Its sum of squares overflowed (Infinity) or underflowed (below 1e-250 though it varies). */
  kind: "overflow" | "underflow";
}

/**
 * The first column whose squared deviations overflow or underflow float64,
 * for callers that cannot rescale (a running state must keep one scale).
 *
 * @param batch The batch (every element finite).
 * @param moments Its moments.
 * @returns The column, or undefined when every sum of squares is usable.
 */
export function findUnrepresentableColumn(
  batch: PreparedBatch,
  moments: BatchMoments,
): UnrepresentableColumn | undefined {
  const { count: B, features: F, confounds: M } = batch;
  for (let f = 0; f < F; f++) {
    const m2 = moments.m2X[f]!;
    if (!Number.isFinite(m2) || !Number.isFinite(moments.meanX[f]!)) {
      return { side: "features", index: f, kind: "overflow" };
    }
    if (m2 < UNDERFLOW_RISK && !isConstantColumn(batch.x, f, F, B)) {
      return { side: "features", index: f, kind: "underflow" };
    }
  }
  for (let m = 0; m < M; m++) {
    const m2 = moments.m2N[m]!;
    if (!Number.isFinite(m2) || !Number.isFinite(moments.meanN[m]!)) {
      return { side: "confounds", index: m, kind: "overflow" };
    }
    if (m2 < UNDERFLOW_RISK && !isConstantColumn(batch.n, m * B, 1, B)) {
      return { side: "confounds", index: m, kind: "underflow" };
    }
  }
  return undefined;
}

/**
 * Finds the first non-finite element (NaN or ±Infinity) of an array.
 *
 * @param data The values to scan.
 * @returns The index of the first non-finite element, or -1.
 */
export function findNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}
