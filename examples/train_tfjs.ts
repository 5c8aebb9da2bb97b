/**
 * Trains a small TensorFlow.js MLP (tfjs-layers, `optimizer.minimize`) on a
 * real data set, with and without `BatchCorrelationLossTf`, and shows what the
 * penalty does to the held-out task metric and to the correlation of the
 * model's outputs with a site confound.
 *
 * The data: the Palmer penguins (`penguins.json` of the npm package
 * `vega-datasets`, CC0; 333 birds with a recorded sex and body mass). The
 * task: tell male from female by body mass. The confound: the island each bird
 * was measured on (Biscoe, Dream, Torgersen), as three indicator rows. Sex is
 * balanced on every island (r(sex, island) ≤ 0.02), but the islands hold
 * different species, and Biscoe's Gentoo penguins outweigh the others of
 * either sex: a model that learns "heavy means male" flags Biscoe's birds as
 * male, so its outputs carry the island (|r| ≈ 0.4). The penalty
 * `nu · mean |r(outputs, islands)|` on the training outputs removes that
 * leak; what it costs in accuracy is the part of the mass signal that only
 * the island explained.
 *
 * While the model trains, `correlateBatches` reads each epoch's outputs (via
 * `tfBatchSource`) and tracks the largest |r| of the epoch and of a sliding
 * window of the last 10 epochs, as a drift monitor would.
 *
 * Run: `deno run -A examples/train_tfjs.ts` or `bun examples/train_tfjs.ts`.
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { autoTol, batchCorr, correlateBatches } from "../mod.ts";
import { BatchCorrelationLossTf, tfBatchSource } from "../src/tfjs/mod.ts";

/** Options of {@linkcode trainPenguins}. */
export interface TrainPenguinsOptions {
  /** Strength of the correlation penalty; 0 trains on the task alone. @default {0.5} */
  nu?: number;
  /** Full-batch training steps. @default {300} */
  epochs?: number;
  /** Hidden units of the MLP. @default {16} */
  hidden?: number;
  /** Adam's learning rate. @default {0.02} */
  learningRate?: number;
  /** Seed of the weight initialisers. @default {1} */
  seed?: number;
}

/** Correlations of a model's outputs with the three island indicators. */
export interface ConfoundReport {
  /** Pearson r with Biscoe, Dream and Torgersen. */
  r: number[];
  /** The largest |r|. */
  maxAbsR: number;
  /** `autoTol(B)` for this set: |r| below it is not significant at the 10% level. */
  tol: number;
  /** B. */
  count: number;
}

/** One point of the monitor's history. */
export interface MonitorPoint {
  /** 1-based epoch. */
  epoch: number;
  /** Largest |r| of this epoch's training outputs. */
  batchMaxAbsR: number;
  /** Largest |r| over the last 10 epochs' outputs pooled. */
  windowMaxAbsR: number;
}

/** What {@linkcode trainPenguins} returns. */
export interface TrainPenguinsResult {
  /** The penalty strength used. */
  nu: number;
  /** Held-out accuracy (the task metric). */
  accuracy: number;
  /** Held-out correlations with the islands. */
  heldOut: ConfoundReport;
  /** Training-set correlations with the islands (what the penalty sees). */
  train: ConfoundReport;
  /** The monitor's readings, every epoch. */
  history: MonitorPoint[];
}

const ISLANDS = ["Biscoe", "Dream", "Torgersen"] as const;
/** The git blob hash `vega-datasets@3.2.1`'s datapackage.json records for penguins.json. */
const PENGUINS_SHA1 = "517b6d3267174b1b65691a37cbd59c1739155866";

interface Penguin {
  island: (typeof ISLANDS)[number];
  mass: number;
  male: boolean;
}

/**
 * Reads `penguins.json` from the installed `vega-datasets`, checks that it is
 * the file that package version describes, and keeps the birds with a sex
 * and a body mass.
 */
export function loadPenguins(): Penguin[] {
  const url = new URL("../node_modules/vega-datasets/data/penguins.json", import.meta.url);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(url);
  } catch (error) {
    throw new Error(
      `Cannot load the penguins data as ${url.pathname} must exist: install the dev dependency vega-datasets (npm install)`,
      { cause: error },
    );
  }
  const blob = createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
  if (blob !== PENGUINS_SHA1) {
    throw new Error(
      `Cannot load the penguins data as its git blob hash must be ${PENGUINS_SHA1} (vega-datasets 3.2.1): current value is ${blob}`,
    );
  }
  const rows = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>[];
  return rows.flatMap((row) => {
    const sex = row["Sex"], mass = row["Body Mass (g)"], island = row["Island"];
    if ((sex !== "MALE" && sex !== "FEMALE") || typeof mass !== "number") return [];
    if (!ISLANDS.includes(island as Penguin["island"])) return [];
    return [{ island: island as Penguin["island"], mass, male: sex === "MALE" }];
  });
}

interface Split {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  islands: tf.Tensor2D;
  islandRows: number[][];
  male: boolean[];
}

function split(
  birds: Penguin[],
  keep: (index: number) => boolean,
  mean: number,
  sd: number,
): Split {
  const chosen = birds.filter((_, i) => keep(i));
  const islandRows = ISLANDS.map((name) => chosen.map((b) => (b.island === name ? 1 : 0)));
  return {
    x: tf.tensor2d(chosen.map((b) => [(b.mass - mean) / sd])),
    y: tf.tensor2d(chosen.map((b) => [b.male ? 1 : 0])),
    islands: tf.tensor2d(islandRows),
    islandRows,
    male: chosen.map((b) => b.male),
  };
}

function confoundReport(outputs: Float32Array, islandRows: number[][]): ConfoundReport {
  const count = outputs.length;
  const r = batchCorr({ data: outputs, shape: [count, 1] }, islandRows, { abs: false });
  const values = Array.from(r.data);
  return { r: values, maxAbsR: Math.max(...values.map(Math.abs)), tol: autoTol(count), count };
}

function buildModel(hidden: number, seed: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [1],
        units: hidden,
        activation: "tanh",
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
      }),
      tf.layers.dense({
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    ],
  });
}

/**
 * Trains the MLP on two thirds of the birds (every bird whose index is not a
 * multiple of 3; the file is sorted by species and island, so both sets hold
 * every group) and evaluates it on the rest.
 *
 * @param options Penalty strength and training settings.
 * @returns Held-out accuracy, held-out and training correlations, the monitor's history.
 */
export async function trainPenguins(
  options: TrainPenguinsOptions = {},
): Promise<TrainPenguinsResult> {
  const { nu = 0.5, epochs = 300, hidden = 16, learningRate = 0.02, seed = 1 } = options;
  const birds = loadPenguins();
  const isTest = (i: number) => i % 3 === 0;
  const trainMasses = birds.filter((_, i) => !isTest(i)).map((b) => b.mass);
  const mean = trainMasses.reduce((a, b) => a + b, 0) / trainMasses.length;
  const sd = Math.sqrt(trainMasses.reduce((a, b) => a + (b - mean) ** 2, 0) / trainMasses.length);
  const train = split(birds, (i) => !isTest(i), mean, sd);
  const test = split(birds, isTest, mean, sd);

  const model = buildModel(hidden, seed);
  const optimizer = tf.train.adam(learningRate);
  const penalty = new BatchCorrelationLossTf({ nu });
  const step = () =>
    optimizer.minimize(() => {
      const logits = model.apply(train.x) as tf.Tensor2D;
      const task = tf.losses.sigmoidCrossEntropy(train.y, logits) as tf.Scalar;
      return nu === 0 ? task : task.add(penalty.evaluate(logits, train.islands));
    });

  // The training loop is the monitor's source: one batch of outputs per epoch.
  async function* epochsOfOutputs() {
    for (let epoch = 0; epoch < epochs; epoch++) {
      step();
      yield { x: model.predict(train.x) as tf.Tensor, n: train.islandRows };
    }
  }
  const history: MonitorPoint[] = [];
  const monitor = correlateBatches(tfBatchSource(epochsOfOutputs()), {
    scalarisation: "max",
    window: 10,
    output: "losses",
  });
  for await (const result of monitor) {
    history.push({
      epoch: result.index + 1,
      batchMaxAbsR: result.loss,
      windowMaxAbsR: result.window!.loss,
    });
  }

  const heldOutLogits = tf.tidy(() =>
    (model.predict(test.x) as tf.Tensor).dataSync() as Float32Array
  );
  const trainLogits = tf.tidy(() =>
    (model.predict(train.x) as tf.Tensor).dataSync() as Float32Array
  );
  const correct = test.male.filter((male, i) => (heldOutLogits[i]! > 0) === male).length;
  const result: TrainPenguinsResult = {
    nu,
    accuracy: correct / test.male.length,
    heldOut: confoundReport(heldOutLogits, test.islandRows),
    train: confoundReport(trainLogits, train.islandRows),
    history,
  };
  model.dispose();
  optimizer.dispose();
  tf.dispose([train.x, train.y, train.islands, test.x, test.y, test.islands]);
  return result;
}

/**
 * The before/after table of the two models.
 *
 * @param before The unpenalised model.
 * @param after The penalised model.
 * @returns A Markdown table.
 */
export function comparisonTable(before: TrainPenguinsResult, after: TrainPenguinsResult): string {
  const row = (label: string, model: TrainPenguinsResult) =>
    `| ${label} | ${model.accuracy.toFixed(3)} | ${model.heldOut.maxAbsR.toFixed(3)} | ${
      model.heldOut.tol.toFixed(3)
    } | ${model.train.maxAbsR.toFixed(3)} | ${model.train.tol.toFixed(3)} |`;
  return [
    `| model | held-out accuracy | held-out max |r| (B = ${before.heldOut.count}) | autoTol(${before.heldOut.count}) | training max |r| (B = ${before.train.count}) | autoTol(${before.train.count}) |`,
    "| --- | --- | --- | --- | --- | --- |",
    row("task loss only (nu = 0)", before),
    row(`+ BatchCorrelationLossTf (nu = ${after.nu})`, after),
  ].join("\n");
}

if (import.meta.main) {
  await tf.setBackend("cpu");
  const before = await trainPenguins({ nu: 0 });
  const after = await trainPenguins();
  console.log(comparisonTable(before, after));
  const last = after.history[after.history.length - 1]!;
  console.log(
    `\nmonitor, last epoch of the penalised run: epoch max |r| ${
      last.batchMaxAbsR.toFixed(3)
    }, 10-epoch window ${last.windowMaxAbsR.toFixed(3)}`,
  );
}
