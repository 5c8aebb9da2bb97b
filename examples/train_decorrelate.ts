/**
 * Learns a linear projection whose outputs keep a signal but lose their
 * correlation with a confound, by gradient descent on a task loss plus
 * `BatchCorrelationLoss`, using `valueAndGrad` for the penalty's gradient.
 *
 * The synthetic set-up: a confound `c` (think head motion) and a signal `s`
 * (K dimensions) that, in this sample, is itself partly explained by the
 * confound, `s = e + ρ·c`. The inputs `Z` (D dimensions) mix the signal, and
 * the confound also leaks into some of them directly. The task is to predict
 * `s` from `Z` (mean squared error); alone, it learns outputs that carry the
 * confound along with the signal. Adding `nu · mean |r(outputs, c)|` drives
 * the outputs' correlation with `c` to zero while they keep the confound-free
 * part `e` of the signal.
 *
 * Run: `deno run -A examples/train_decorrelate.ts` or `bun examples/train_decorrelate.ts`.
 */
import { autoTol, batchCorr, BatchCorrelationLoss } from "../mod.ts";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";

/** Options of {@linkcode trainDecorrelate}. */
export interface TrainOptions {
  /** Seed of the synthetic data and the initial weights. @default {1} */
  seed?: number;
  /** Number of samples B (one full batch per step). @default {256} */
  samples?: number;
  /** Gradient-descent steps. @default {400} */
  steps?: number;
  /** Strength of the correlation penalty; 0 trains on the task alone. @default {3} */
  nu?: number;
  /** Initial learning rate, decayed linearly to 0 over the steps. @default {0.02} */
  learningRate?: number;
}

/** The losses after one step. */
export interface StepRecord {
  /** 0 before the first update. */
  step: number;
  /** Mean squared error of the outputs against the signal. */
  task: number;
  /** The `BatchCorrelationLoss` value (0 when nu is 0). */
  penalty: number;
  /** task + penalty. */
  total: number;
}

/** What {@linkcode trainDecorrelate} returns. */
export interface TrainResult {
  /** The losses at every step, before that step's update, then after the last. */
  history: StepRecord[];
  /** Pearson r of each output with the confound, after training. */
  confoundCorrelations: number[];
  /** Pearson r of each output with the confound-free part `e` of its signal. */
  signalCorrelations: number[];
  /** `autoTol(samples)`: |r| below it is not significant at the 10% level. */
  tol: number;
  /** The learned projection, row-major (D, K). */
  weights: Float64Array;
}

const INPUTS = 6, OUTPUTS = 2;
const CONFOUND_IN_SIGNAL = [0.8, -0.5];
const CONFOUND_LEAK = [1.2, 0, -0.8, 0, 0.6, 0];

function normals(random: () => number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

interface Data {
  /** Inputs, row-major (B, D). */
  z: Float64Array;
  /** The target signal s, row-major (B, K). */
  target: Float64Array;
  /** The confound-free part e of the signal, row-major (B, K). */
  clean: Float64Array;
  /** The confound, (B). */
  confound: Float64Array;
}

function makeData(random: () => number, samples: number): Data {
  const confound = normals(random, samples);
  const clean = normals(random, samples * OUTPUTS);
  const mixing = normals(random, OUTPUTS * INPUTS);
  const noise = normals(random, samples * INPUTS);
  const target = new Float64Array(samples * OUTPUTS);
  const z = new Float64Array(samples * INPUTS);
  for (let b = 0; b < samples; b++) {
    for (let k = 0; k < OUTPUTS; k++) {
      target[b * OUTPUTS + k] = clean[b * OUTPUTS + k]! + CONFOUND_IN_SIGNAL[k]! * confound[b]!;
    }
    for (let d = 0; d < INPUTS; d++) {
      let value = CONFOUND_LEAK[d]! * confound[b]! + 0.2 * noise[b * INPUTS + d]!;
      for (let k = 0; k < OUTPUTS; k++) value += target[b * OUTPUTS + k]! * mixing[k * INPUTS + d]!;
      z[b * INPUTS + d] = value;
    }
  }
  return { z, target, clean, confound };
}

/** P = Z W: (B, D) · (D, K). */
function project(z: Float64Array, weights: Float64Array, samples: number): Float64Array {
  const out = new Float64Array(samples * OUTPUTS);
  for (let b = 0; b < samples; b++) {
    for (let d = 0; d < INPUTS; d++) {
      const v = z[b * INPUTS + d]!;
      for (let k = 0; k < OUTPUTS; k++) out[b * OUTPUTS + k]! += v * weights[d * OUTPUTS + k]!;
    }
  }
  return out;
}

/** ∂L/∂W = Zᵀ · ∂L/∂P: (D, B) · (B, K). */
function backProject(z: Float64Array, gradP: Float64Array, samples: number): Float64Array {
  const out = new Float64Array(INPUTS * OUTPUTS);
  for (let b = 0; b < samples; b++) {
    for (let d = 0; d < INPUTS; d++) {
      const v = z[b * INPUTS + d]!;
      for (let k = 0; k < OUTPUTS; k++) out[d * OUTPUTS + k]! += v * gradP[b * OUTPUTS + k]!;
    }
  }
  return out;
}

/** Mean squared error and its gradient with respect to the outputs. */
function meanSquaredError(
  outputs: Float64Array,
  target: Float64Array,
): { value: number; grad: Float64Array } {
  const grad = new Float64Array(outputs.length);
  let value = 0;
  for (let i = 0; i < outputs.length; i++) {
    const residual = outputs[i]! - target[i]!;
    value += residual * residual;
    grad[i] = (2 * residual) / outputs.length;
  }
  return { value: value / outputs.length, grad };
}

/** Pearson r of each output column with a (B) vector. */
function correlationsWith(outputs: Float64Array, other: Float64Array, samples: number): number[] {
  return Array.from(
    batchCorr({ data: outputs, shape: [samples, OUTPUTS] }, other, { abs: false }).data,
  );
}

/**
 * Trains the projection and reports the losses and the final correlations.
 *
 * @param options Seed, sample count, steps, penalty strength, learning rate.
 * @returns The loss history and the outputs' final correlations.
 */
export function trainDecorrelate(options: TrainOptions = {}): TrainResult {
  const { seed = 1, samples = 256, steps = 400, nu = 3, learningRate = 0.02 } = options;
  const random = mulberry32(seed);
  const data = makeData(random, samples);
  // The penalty is the mean |r| with no tolerance: an L1 pull that can hold
  // r at exactly zero against the task's pull towards the confound.
  const penalty = new BatchCorrelationLoss({ nu, tol: 0, scalarisation: "mean" });
  const weights = normals(random, INPUTS * OUTPUTS).map((w) => 0.1 * w);
  const history: StepRecord[] = [];

  for (let step = 0; step <= steps; step++) {
    const outputs = project(data.z, weights, samples);
    const task = meanSquaredError(outputs, data.target);
    const decorrelation = penalty.valueAndGrad(
      { data: outputs, shape: [samples, OUTPUTS] },
      data.confound,
    );
    history.push({
      step,
      task: task.value,
      penalty: decorrelation.value,
      total: task.value + decorrelation.value,
    });
    if (step === steps) break;
    // Plain gradient descent on an L1 penalty overshoots zero and back; a
    // learning rate decaying to 0 lets those oscillations die out.
    const rate = learningRate * (1 - step / steps);
    const gradP = task.grad.map((g, i) => g + decorrelation.grad.data[i]!);
    const gradW = backProject(data.z, gradP, samples);
    for (let i = 0; i < weights.length; i++) weights[i]! -= rate * gradW[i]!;
  }

  const outputs = project(data.z, weights, samples);
  return {
    history,
    confoundCorrelations: correlationsWith(outputs, data.confound, samples),
    signalCorrelations: Array.from({ length: OUTPUTS }, (_, k) => {
      const column = data.clean.filter((_, i) => i % OUTPUTS === k);
      return correlationsWith(outputs, column, samples)[k]!;
    }),
    tol: autoTol(samples),
    weights,
  };
}

function formatList(values: number[]): string {
  return values.map((v) => v.toFixed(4).padStart(8)).join(" ");
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

if (import.meta.main) {
  const steps = 400, samples = 256, window = 50;
  const trained = trainDecorrelate({ steps, samples });
  console.log(`Mean losses over windows of ${window} steps (B = ${samples}, nu = 3):`);
  console.log("  steps        task   penalty     total");
  for (let start = 0; start < steps; start += window) {
    const records = trained.history.slice(start, start + window);
    const [task, penalty, total] = (["task", "penalty", "total"] as const).map((key) =>
      mean(records.map((r) => r[key]))
    );
    console.log(
      `${`${start}-${start + window - 1}`.padStart(7)} ${task!.toFixed(5).padStart(11)} ${
        penalty!.toFixed(5).padStart(9)
      } ${total!.toFixed(5).padStart(9)}`,
    );
  }
  const taskOnly = trainDecorrelate({ steps, samples, nu: 0 });
  console.log(`\nr(output, confound), task + penalty: ${formatList(trained.confoundCorrelations)}`);
  console.log(`r(output, confound), task alone:     ${formatList(taskOnly.confoundCorrelations)}`);
  console.log(`tol "auto" for B = ${samples}:              ${trained.tol.toFixed(4).padStart(8)}`);
  console.log(`r(output, confound-free signal):     ${formatList(trained.signalCorrelations)}`);
}
