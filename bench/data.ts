/**
 * The benchmark's sizes and data: the same seeded batches for every runner
 * (Deno, Bun and numpy read them from files the comparison writes).
 *
 * @module
 */

import { readFileSync, writeFileSync } from "node:fs";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";

/** One benchmark size: B samples, F features, M confounds. */
export interface Size {
  B: number;
  F: number;
  M: number;
}

/** The sizes of issue 7, (B, F, M). */
export const SIZES: readonly Size[] = [
  { B: 64, F: 10_000, M: 1 },
  { B: 256, F: 100_000, M: 1 },
  { B: 256, F: 10_000, M: 8 },
  { B: 1024, F: 4096, M: 4 },
];

/** A size with the paths of its data files. */
export interface CaseFiles extends Size {
  /** X, `(B, F)` little-endian float64. */
  x: string;
  /** N, `(M, B)` little-endian float64. */
  n: string;
}

/** Seeded uniform numbers in [0, 1) (mulberry32, as the tests and the synthetic data). */
export const random: (seed: number) => () => number = mulberry32;

/**
 * Features that carry some of the confound (so correlations are not all ~0)
 * plus noise; values around 1 with feature-dependent offsets.
 */
export function generate(size: Size, seed = 7): { x: Float64Array; n: Float64Array } {
  const { B, F, M } = size;
  const next = random(seed);
  const n = new Float64Array(M * B);
  for (let i = 0; i < n.length; i++) n[i] = next();
  const x = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    const signal = n[b]!;
    for (let f = 0; f < F; f++) {
      x[b * F + f] = 1 + (f % 17) * 0.1 + 0.3 * signal * ((f % 5) - 2) + next();
    }
  }
  return { x, n };
}

/** Writes a size's data as raw float64 files in a folder. */
export function writeCase(size: Size, folder: string): CaseFiles {
  const { x, n } = generate(size);
  const stem = `${folder}/${size.B}x${size.F}x${size.M}`;
  writeFileSync(`${stem}.x.f64`, new Uint8Array(x.buffer));
  writeFileSync(`${stem}.n.f64`, new Uint8Array(n.buffer));
  return { ...size, x: `${stem}.x.f64`, n: `${stem}.n.f64` };
}

/** Reads a raw float64 file into an aligned Float64Array. */
export function readFloat64(path: string): Float64Array {
  const bytes = readFileSync(path);
  const out = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
