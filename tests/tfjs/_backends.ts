/**
 * The TensorFlow.js backends the tests run on: cpu (pure JavaScript) and wasm
 * (`@tensorflow/tfjs-backend-wasm`, which reads its .wasm files from
 * node_modules). Importing the wasm package registers it with a higher
 * priority than cpu, so every test sets its backend explicitly.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

/** The backends every parity test covers. */
export const BACKENDS = ["cpu", "wasm"] as const;

/**
 * The two ways the op computes, each tested on every backend: on the host in
 * float64 (what "auto" picks on cpu and wasm) and in tf ops (what it picks on
 * webgl and webgpu, which these tests cannot start).
 */
export const COMPUTES = ["host", "tf"] as const;

/** A backend name. */
export type BackendName = (typeof BACKENDS)[number];

/**
 * Makes `name` the active backend.
 *
 * @param name The backend.
 */
export async function useBackend(name: BackendName): Promise<void> {
  if (tf.getBackend() === name) return;
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`the tfjs backend "${name}" failed to initialise`);
  await tf.ready();
}

/**
 * `max |a − b| / max |b|` (the absolute difference when b is all zeros).
 *
 * @param a The values under test.
 * @param b The reference.
 * @returns The normwise relative difference.
 */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    diff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale > 0 ? diff / scale : diff;
}
