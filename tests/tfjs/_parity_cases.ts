/**
 * Seeded cases comparing the TensorFlow.js loss with the float64 core: X of
 * rank 1–4, M 1–4, B 3–512, every scalarisation, tol 0 / a number / "auto",
 * abs both ways, columns near zero and far from it. Shared by the parity
 * tests and `bench/tfjs_parity.ts`, which prints the worst figures.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import {
  autoTol,
  batchCorr,
  BatchCorrelationLoss,
  max,
  type Scalarisation,
  type ScalarisationName,
  vnorm,
} from "../../mod.ts";
import { BatchCorrelationLossTf, type TfCompute } from "../../src/tfjs/mod.ts";
import { mulberry32 } from "../random.ts";
import { relativeDifference } from "./_backends.ts";
import { plainBatchCorr } from "./_plain_formula.ts";

/** One comparison. */
export interface ParityCase {
  /** X's shape, batch first. */
  xShape: number[];
  /** N's shape: `[B]` or `[M, B]`. */
  nShape: number[];
  /** X's values, float32-representable. */
  x: Float32Array;
  /** N's values, float32-representable. */
  n: Float32Array;
  /** The tolerance. */
  tol: number | "auto";
  /** Drop the sign. */
  abs: boolean;
  /** The scalarisation's label. */
  label: string;
  /** The scalarisation, as both losses take it. */
  scalarisation: ScalarisationName | Scalarisation;
  /** The column offset (0 or far from zero). */
  offset: number;
}

const SCALARISATIONS: [string, ScalarisationName | Scalarisation][] = [
  ["sum", "sum"],
  ["mean", "mean"],
  ["meansq", "meansq"],
  ["max", "max"],
  ["vnorm", "vnorm"],
  ["vnorm(1)", vnorm(1)],
  ["vnorm(Infinity)", vnorm(Infinity)],
  ["core max", max],
];
const TOLS: (number | "auto")[] = [0, 0.07, "auto"];
const SIZES = [3, 4, 9, 33, 128, 300, 512];
const OFFSETS = [0, 0, 1e3, 3e5];

function featureShape(rank: number, random: () => number): number[] {
  const extent = () => 1 + Math.floor(random() * 4);
  if (rank === 1) return [];
  if (rank === 2) return [1 + Math.floor(random() * 12)];
  if (rank === 3) return [extent(), 1 + extent()];
  return [extent(), 2, 1 + extent()];
}

/** Whether float32 rounding could flip a decision the float64 reference makes. */
function wellPosed(c: ParityCase): boolean {
  const B = c.xShape[0]!;
  const r =
    batchCorr({ data: c.x, shape: c.xShape }, { data: c.n, shape: c.nShape }, { abs: false }).data;
  const tol = c.tol === "auto" ? autoTol(B) : c.tol;
  const margin = 1e-4;
  if (Array.from(r).some((v) => Math.abs(Math.abs(v) - tol) < margin)) return false;
  if (c.label.includes("max") || c.label.includes("Infinity")) {
    const shrunk = Array.from(r, (v) => Math.max(Math.abs(v) - tol, 0)).sort((a, b) => b - a);
    if (shrunk.length > 1 && shrunk[0]! > 0 && shrunk[0]! - shrunk[1]! < margin) return false;
  }
  return true;
}

/**
 * The cases: every (scalarisation, tol, abs) triple with every rank, with B,
 * M and the offset cycling, redrawn where float32 rounding could flip a
 * threshold or a maximum (within 1e-4 of it).
 *
 * @param seed The generator's seed.
 * @returns The cases.
 */
export function parityCases(seed = 20260101): ParityCase[] {
  const random = mulberry32(seed);
  const cases: ParityCase[] = [];
  let k = 0;
  for (const [label, scalarisation] of SCALARISATIONS) {
    for (const tol of TOLS) {
      for (const abs of [true, false]) {
        for (let rank = 1; rank <= 4; rank++, k++) {
          const B = SIZES[k % SIZES.length]!;
          const M = 1 + (k % 4);
          const offset = OFFSETS[k % OFFSETS.length]!;
          for (let attempt = 0;; attempt++) {
            const c = drawCase(random, rank, B, M, offset, tol, abs, label, scalarisation);
            if (wellPosed(c) || attempt === 20) {
              cases.push(c);
              break;
            }
          }
        }
      }
    }
  }
  return cases;
}

function drawCase(
  random: () => number,
  rank: number,
  B: number,
  M: number,
  offset: number,
  tol: number | "auto",
  abs: boolean,
  label: string,
  scalarisation: ScalarisationName | Scalarisation,
): ParityCase {
  const trailing = featureShape(rank, random);
  const F = trailing.reduce((a, b) => a * b, 1);
  const n = Float32Array.from({ length: M * B }, () => random() * 2 - 1);
  const leak = Float64Array.from({ length: F }, () => (random() - 0.5) * 1.5);
  const x = new Float32Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) {
      x[b * F + f] = offset + random() * 2 - 1 + leak[f]! * n[(f % M) * B + b]!;
    }
  }
  return {
    xShape: [B, ...trailing],
    nShape: M === 1 ? [B] : [M, B],
    x,
    n,
    tol,
    abs,
    label,
    scalarisation,
    offset,
  };
}

/** The worst differences of one case. */
export interface ParityFigures {
  /** Relative difference of the loss value. */
  value: number;
  /** Normwise relative difference of ∂L/∂X. */
  gradX: number;
  /** Normwise relative difference of ∂L/∂N. */
  gradN: number;
  /** Normwise relative difference of the thresholded correlations (batchCorrTf vs batchCorr). */
  correlations: number;
  /** ∂L/∂X against tf's autodiff of the plain formula (NaN where that is not finite). */
  autodiff: number;
}

function plainReduce(label: string, values: tf.Tensor): tf.Scalar {
  if (label === "sum") return values.sum();
  if (label === "mean") return values.mean();
  if (label === "meansq") return values.square().mean();
  if (label === "max" || label === "core max") return values.max();
  if (label === "vnorm") return tf.norm(values) as tf.Scalar;
  if (label === "vnorm(1)") return values.abs().sum();
  return values.abs().max();
}

/**
 * Runs one case on the active backend.
 *
 * @param c The case.
 * @param batchCorrTf The function under test for the correlations.
 * @param compute Where the op under test computes.
 * @returns The differences.
 */
export function runParityCase(
  c: ParityCase,
  batchCorrTf: (
    x: tf.Tensor,
    n: tf.Tensor,
    options: { tol: number | "auto"; abs: boolean; compute: TfCompute },
  ) => tf.Tensor,
  compute: TfCompute,
): ParityFigures {
  const X = { data: c.x, shape: c.xShape };
  const N = { data: c.n, shape: c.nShape };
  const options = { tol: c.tol, abs: c.abs, scalarisation: c.scalarisation };
  const reference = new BatchCorrelationLoss(options).valueAndGrad(X, N, { wrt: "both" });
  const referenceR = batchCorr(X, N, { tol: c.tol, abs: c.abs });
  const x = tf.tensor(c.x, c.xShape);
  const n = tf.tensor(c.n, c.nShape);
  try {
    const loss = new BatchCorrelationLossTf({ ...options, compute });
    const result = loss.valueAndGrad(x, n, { wrt: "both" });
    const r = batchCorrTf(x, n, { tol: c.tol, abs: c.abs, compute });
    const value = result.value.dataSync()[0]!;
    const figures: ParityFigures = {
      value: relativeDifference([value], [reference.value]),
      gradX: relativeDifference(result.grad.dataSync(), reference.grad.data),
      gradN: relativeDifference(result.gradN!.dataSync(), reference.gradN!.data),
      correlations: relativeDifference(r.dataSync(), referenceR.data),
      autodiff: Number.NaN,
    };
    const tol = c.tol === "auto" ? autoTol(c.xShape[0]!) : c.tol;
    // tf's autodiff of the plain formula is finite only off the degenerate
    // points (a norm of zeros) and near zero offsets (it centres in float32).
    if (c.offset === 0 && !(c.label.startsWith("vnorm") && reference.value === 0)) {
      const nu = loss.nu;
      const autodiff = tf.grad((input: tf.Tensor) =>
        plainReduce(c.label, plainBatchCorr(input, n, { tol, abs: c.abs })).mul(nu) as tf.Scalar
      )(x);
      figures.autodiff = relativeDifference(result.grad.dataSync(), autodiff.dataSync());
      autodiff.dispose();
    }
    tf.dispose([result.value, result.grad, result.gradN!, r]);
    return figures;
  } finally {
    tf.dispose([x, n]);
  }
}
