import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as tf from "@tensorflow/tfjs";
import {
  loadPenguins,
  trainPenguins,
  type TrainPenguinsResult,
} from "../../examples/train_tfjs.ts";
import { useBackend } from "./_backends.ts";

/** The stated margin: the penalised model's held-out accuracy may trail by at most this much. */
const ACCURACY_MARGIN = 0.08;
const SLOW = { timeout: 120_000 };

describe("examples/train_tfjs.ts", () => {
  let unpenalised: TrainPenguinsResult;
  let penalised: TrainPenguinsResult;
  let tensorsBefore = 0;
  let tensorsAfter = 0;
  before(() => useBackend("cpu"));

  const trained = async () => {
    if (!penalised) {
      tensorsBefore = tf.memory().numTensors;
      unpenalised = await trainPenguins({ nu: 0 });
      penalised = await trainPenguins();
      tensorsAfter = tf.memory().numTensors;
    }
    return { unpenalised, penalised };
  };

  test("reads the 333 penguins with a sex and a body mass from vega-datasets", () => {
    const birds = loadPenguins();
    assert.equal(birds.length, 333);
    assert.deepEqual(
      ["Biscoe", "Dream", "Torgersen"].map((island) =>
        birds.filter((b) => b.island === island).length
      ),
      [163, 123, 47],
    );
  });

  test(
    "without the penalty the outputs carry the island: |r| above autoTol on both sets",
    SLOW,
    async () => {
      const { unpenalised } = await trained();
      assert.ok(
        unpenalised.heldOut.maxAbsR > unpenalised.heldOut.tol,
        `${unpenalised.heldOut.maxAbsR}`,
      );
      assert.ok(unpenalised.train.maxAbsR > unpenalised.train.tol, `${unpenalised.train.maxAbsR}`);
    },
  );

  test(
    "with the penalty |r| falls below autoTol, on the training set and held out",
    SLOW,
    async () => {
      const { unpenalised, penalised } = await trained();
      assert.ok(
        penalised.train.maxAbsR < penalised.train.tol,
        `${penalised.train.maxAbsR} vs ${penalised.train.tol}`,
      );
      assert.ok(
        penalised.heldOut.maxAbsR < penalised.heldOut.tol,
        `${penalised.heldOut.maxAbsR} vs ${penalised.heldOut.tol}`,
      );
      assert.ok(penalised.heldOut.maxAbsR < unpenalised.heldOut.maxAbsR / 2);
    },
  );

  test(
    `held-out accuracy stays within ${ACCURACY_MARGIN} of the unpenalised model's`,
    SLOW,
    async () => {
      const { unpenalised, penalised } = await trained();
      assert.ok(unpenalised.accuracy > 0.7, `${unpenalised.accuracy}`);
      assert.ok(
        penalised.accuracy >= unpenalised.accuracy - ACCURACY_MARGIN,
        `${penalised.accuracy} vs ${unpenalised.accuracy}`,
      );
    },
  );

  test("the monitor saw every epoch, and training left no tensor behind", SLOW, async () => {
    const { penalised } = await trained();
    assert.equal(penalised.history.length, 300);
    const last = penalised.history.at(-1)!;
    assert.ok(
      Math.abs(last.batchMaxAbsR - penalised.train.maxAbsR) < 1e-6,
      "the last epoch is the final model",
    );
    assert.ok(penalised.history[0]!.batchMaxAbsR > last.batchMaxAbsR);
    assert.equal(tensorsAfter, tensorsBefore);
  });
});
