/**
 * One training step of the batch correlation penalty on TensorFlow.js:
 * forward and backward (∂L/∂x) through `BatchCorrelationLossTf` (with
 * `compute: "host"`, what "auto" picks on cpu and wasm, and `compute: "tf"`,
 * the tf-ops graph it picks on webgl and webgpu), against the
 * same loss written as plain tf ops and differentiated by tf's autodiff, on
 * the cpu and wasm backends, for (B, F, M) = (256, 512, 4) and (1024, 4096, 4).
 * Then the share of the penalty in a training step of the MLP of
 * `examples/train_tfjs.ts` (and of a wider one).
 *
 * Two autodiff baselines: "plain" is the formula as it is usually written
 * (`mean(0)`, `sum(0)`, `matMul(xc, nc, true, true)`); "same ops" runs the
 * forward pass of this library's op (products with a row of ones instead of
 * reductions over the batch axis) and lets autodiff differentiate it, so that
 * the ratio against it isolates what the closed-form gradient itself saves.
 *
 * The machine is shared: the variants run interleaved, and the table reports
 * medians of the per-round times and of the per-round ratios.
 *
 * Run: `deno run -A bench/tfjs_step.ts [rounds] [--mlp-only]` (default 7 rounds; `bun
 * bench/tfjs_step.ts` too; `--mlp-only` skips the penalty table).
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import process from "node:process";
import { BatchCorrelationLossTf } from "../src/tfjs/mod.ts";
import { plainBatchCorr } from "../tests/tfjs/_plain_formula.ts";

const mlpOnly = process.argv.includes("--mlp-only");
const rounds = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? 7);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * The forward pass of `src/tfjs/_correlation_op.ts` in plain ops, for
 * autodiff. The first rows `x0` and `n0` come in as constants (the
 * correlations do not depend on a shift, and a gather's gradient needs a
 * kernel the wasm backend lacks), which spares autodiff that work.
 */
function sameOpsBatchCorr(
  x: tf.Tensor2D,
  n: tf.Tensor2D,
  x0: tf.Tensor1D,
  n0: tf.Tensor1D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [B, F] = x.shape;
    const d = x.sub(x0) as tf.Tensor2D;
    const shifted = n.transpose().sub(n0);
    const once = shifted.sub(shifted.mean(0));
    const nc = once.sub(once.mean(0));
    const sums = tf.matMul(tf.concat([tf.fill([1, B], 1 / B), nc.transpose()], 0), d);
    const comoment = sums.slice([1, 0], [n.shape[0], F]);
    const xc = d.sub(sums.slice([0, 0], [1, F]).reshape([F]));
    const sx2 = tf.matMul(tf.ones([1, B]), xc.square()).reshape([F]);
    const sn2 = nc.square().sum(0);
    const r = comoment.div(tf.outerProduct(sn2.sqrt() as tf.Tensor1D, sx2.sqrt() as tf.Tensor1D));
    return tf.relu(r.abs()).transpose() as tf.Tensor2D;
  });
}

function time(step: () => void): number {
  const start = performance.now();
  step();
  return performance.now() - start;
}

interface Row {
  backend: string;
  shape: string;
  host: number;
  custom: number;
  plain: number;
  sameOps: number;
  ratioHost: number;
  ratioPlain: number;
  ratioSameOps: number;
}

function penaltyStep(backend: string, B: number, F: number, M: number): Row {
  const x = tf.randomNormal([B, F], 0, 1, "float32", 1) as tf.Tensor2D;
  const n = tf.randomNormal([M, B], 0, 1, "float32", 2) as tf.Tensor2D;
  const loss = new BatchCorrelationLossTf({ compute: "tf" });
  const hostLoss = new BatchCorrelationLossTf({ compute: "host" });
  const gradient = (f: (a: tf.Tensor2D) => tf.Scalar) => () =>
    tf.dispose(tf.grad(f as (a: tf.Tensor) => tf.Scalar)(x));
  const custom = gradient((a) => loss.evaluate(a, n));
  const host = gradient((a) => hostLoss.evaluate(a, n));
  const plain = gradient((a) => plainBatchCorr(a, n, { tol: 0, abs: true }).mean() as tf.Scalar);
  const x0 = tf.tidy(() => tf.gather(x, tf.tensor1d([0], "int32")).reshape([F])) as tf.Tensor1D;
  const n0 = tf.tidy(() =>
    tf.gather(n.transpose(), tf.tensor1d([0], "int32")).reshape([M])
  ) as tf.Tensor1D;
  const sameOps = gradient((a) => sameOpsBatchCorr(a, n, x0, n0).mean() as tf.Scalar);
  host(), custom(), plain(), sameOps(); // warm-up: kernels, wasm memory
  const t = {
    host: [] as number[],
    custom: [] as number[],
    plain: [] as number[],
    sameOps: [] as number[],
  };
  const ratios = { host: [] as number[], plain: [] as number[], sameOps: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const h = time(host), c = time(custom), p = time(plain), s = time(sameOps);
    t.host.push(h), t.custom.push(c), t.plain.push(p), t.sameOps.push(s);
    ratios.host.push(p / h), ratios.plain.push(p / c), ratios.sameOps.push(s / c);
  }
  tf.dispose([x, n, x0, n0]);
  return {
    backend,
    shape: `(${B}, ${F}, ${M})`,
    host: median(t.host),
    custom: median(t.custom),
    plain: median(t.plain),
    sameOps: median(t.sameOps),
    ratioHost: median(ratios.host),
    ratioPlain: median(ratios.plain),
    ratioSameOps: median(ratios.sameOps),
  };
}

interface MlpRow {
  backend: string;
  compute: "host" | "tf";
  model: string;
  task: number;
  withPenalty: number;
  overhead: number;
}

/** An MLP step with Adam on the task loss, with and without the penalty on its outputs. */
function mlpStep(
  backend: string,
  label: string,
  B: number,
  inputs: number,
  hidden: number,
  outputs: number,
  compute: "host" | "tf",
): MlpRow {
  const x = tf.randomNormal([B, inputs], 0, 1, "float32", 3);
  const y = tf.randomUniform([B, outputs], 0, 1, "float32", 4).round();
  const n = tf.randomUniform([3, B], 0, 1, "float32", 5).round();
  const model = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [inputs], units: hidden, activation: "tanh" }),
      tf.layers.dense({ units: outputs }),
    ],
  });
  const optimizer = tf.train.adam(0.01);
  const penalty = new BatchCorrelationLossTf({ nu: 0.5, compute });
  const step = (withPenalty: boolean) => () =>
    optimizer.minimize(() => {
      const logits = model.apply(x) as tf.Tensor2D;
      const task = tf.losses.sigmoidCrossEntropy(y, logits) as tf.Scalar;
      return withPenalty ? task.add(penalty.evaluate(logits, n)) : task;
    });
  const task = step(false), both = step(true);
  const repeat = (f: () => void) => () => {
    for (let i = 0; i < 20; i++) f();
  };
  for (let i = 0; i < 3; i++) repeat(task)(), repeat(both)();
  const t: number[] = [], p: number[] = [], overhead: number[] = [];
  // Three times the rounds, in ABBA order: whichever runs first in a pair
  // pays for the garbage of the one before, which at 1-2 ms a step is a
  // visible share.
  for (let round = 0; round < 3 * rounds; round++) {
    const first = round % 2 === 0 ? task : both, second = first === task ? both : task;
    const one = time(repeat(first)) / 20, two = time(repeat(second)) / 20;
    const [a, b] = first === task ? [one, two] : [two, one];
    t.push(a), p.push(b), overhead.push(b / a - 1);
  }
  model.dispose();
  optimizer.dispose();
  tf.dispose([x, y, n]);
  return {
    backend,
    compute,
    model: label,
    task: median(t),
    withPenalty: median(p),
    overhead: median(overhead),
  };
}

const rows: Row[] = [];
const mlpRows: MlpRow[] = [];
for (const backend of ["cpu", "wasm"]) {
  await tf.setBackend(backend);
  await tf.ready();
  for (const [B, F, M] of mlpOnly ? [] : [[256, 512, 4], [1024, 4096, 4]] as const) {
    rows.push(penaltyStep(backend, B, F, M));
  }
  for (const compute of ["host", "tf"] as const) {
    mlpRows.push(mlpStep(backend, "example: 1 → 16 → 1, B = 222", 222, 1, 16, 1, compute));
    mlpRows.push(mlpStep(backend, "wider: 64 → 256 → 16, B = 256", 256, 64, 256, 16, compute));
  }
}

const ms = (v: number) => v.toFixed(v < 10 ? 2 : 1);
console.log(`tfjs ${tf.version.tfjs}, ${rounds} rounds, medians\n`);
console.log(
  "| backend | (B, F, M) | compute host ms | compute tf ms | plain + autodiff ms | same ops + autodiff ms | host vs plain | tf vs plain | tf vs same ops |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  const cells = [r.backend, r.shape, ms(r.host), ms(r.custom), ms(r.plain), ms(r.sameOps)];
  const ratios = [r.ratioHost, r.ratioPlain, r.ratioSameOps].map((v) => `${v.toFixed(2)}×`);
  console.log(`| ${[...cells, ...ratios].join(" | ")} |`);
}
console.log("\n| backend | compute | MLP | task step ms | task + penalty step ms | penalty adds |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of mlpRows) {
  const overhead = `${(100 * r.overhead).toFixed(0)}%`;
  console.log(
    `| ${[r.backend, r.compute, r.model, ms(r.task), ms(r.withPenalty), overhead].join(" | ")} |`,
  );
}
