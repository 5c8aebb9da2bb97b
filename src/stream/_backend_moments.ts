/**
 * A backend's moments as the stream reads them: each field read once, from
 * the object itself or its class (never from `Object.prototype`), and only
 * when it describes the batch.
 *
 * @module
 */

import type { BatchMoments } from "../core/batch_moments.ts";
import { isFloatArray } from "../core/tensor.ts";
import { readProperty } from "../core/own_properties.ts";
import type { PreparedBatch } from "../core/prepare_batch.ts";

const ARRAYS = ["meanX", "meanN", "m2X", "m2N", "comoment"] as const;

/**
 * The moments a backend returned, if they describe the batch: the same count,
 * F and M, and Float64Array or Float32Array fields of the matching lengths.
 *
 * @param given What the backend's `computeMoments` resolved to.
 * @param batch The batch it was given.
 * @returns A fresh moments object holding the fields as read, or undefined.
 */
export function backendMomentsOf(given: unknown, batch: PreparedBatch): BatchMoments | undefined {
  if (typeof given !== "object" || given === null) return undefined;
  const { count: B, features: F, confounds: M } = batch;
  const lengths = { meanX: F, meanN: M, m2X: F, m2N: M, comoment: F * M };
  if (
    readProperty(given, "count") !== B || readProperty(given, "features") !== F ||
    readProperty(given, "confounds") !== M
  ) {
    return undefined;
  }
  const arrays: Partial<Record<(typeof ARRAYS)[number], Float64Array>> = {};
  for (const key of ARRAYS) {
    const values = readProperty(given, key);
    if (!isFloatArray(values) || values.length !== lengths[key]) return undefined;
    arrays[key] = values as Float64Array;
  }
  return { count: B, features: F, confounds: M, ...arrays } as BatchMoments;
}

/**
 * Whether every mean and sum of squares is finite (the input's own checks
 * report the rest: NaN in the batch, overflow).
 *
 * @param moments The moments.
 * @returns True when all are finite.
 */
export function finiteSums(moments: BatchMoments): boolean {
  for (const values of [moments.meanX, moments.meanN, moments.m2X, moments.m2N]) {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return false;
  }
  return true;
}
