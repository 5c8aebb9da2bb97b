import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { trainDecorrelate } from "../../examples/train_decorrelate.ts";
import { autoTol } from "../../mod.ts";

describe("examples/train_decorrelate.ts", () => {
  const samples = 64, steps = 200, seed = 3;
  const trained = trainDecorrelate({ seed, samples, steps });

  test("the total loss falls: its mean over the last 20 steps is under a third of the first", () => {
    const { history } = trained;
    assert.equal(history.length, steps + 1);
    const last = history.slice(-20).reduce((a, r) => a + r.total, 0) / 20;
    assert.ok(last < history[0]!.total / 3, `first ${history[0]!.total}, last 20 steps ${last}`);
    assert.ok(history.every((r) => Math.abs(r.total - (r.task + r.penalty)) < 1e-12));
  });

  test('every output ends with |r| to the confound below the tol "auto" threshold', () => {
    assert.equal(trained.tol, autoTol(samples));
    for (const r of trained.confoundCorrelations) {
      assert.ok(Math.abs(r) < trained.tol, `|r| = ${Math.abs(r)} vs tol ${trained.tol}`);
    }
  });

  test("the outputs keep the confound-free signal", () => {
    for (const r of trained.signalCorrelations) assert.ok(r > 0.9, `r(output, signal) = ${r}`);
  });

  test("without the penalty the same training leaves the outputs correlated with the confound", () => {
    const taskOnly = trainDecorrelate({ seed, samples, steps, nu: 0 });
    assert.ok(
      taskOnly.confoundCorrelations.every((r) => Math.abs(r) > autoTol(samples)),
      `${taskOnly.confoundCorrelations}`,
    );
  });
});
