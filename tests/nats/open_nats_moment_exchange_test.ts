import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrelationLoss, BatchCorrError } from "../../mod.ts";
import { allReduceMoments, globalValueAndGrad } from "../../src/distributed/mod.ts";
import { openNatsMomentExchange } from "../../src/nats/mod.ts";
import { natsService } from "../_services.ts";
import { concat, maxAbsDiff } from "../fuzz_support.ts";
import { randomBatches } from "../distributed/_batches.ts";

const skip = natsService.skip;

describe("allReduceMoments over JetStream KV", () => {
  test("4 ranks, a batch each, get the stacked gradient of the whole global batch to 1e-10", {
    skip,
    timeout: 30_000,
  }, async () => {
    const nats = natsService.url();
    const prefix = `t_allreduce_${Date.now()}`;
    const slices = randomBatches({
      count: 4,
      seed: 300,
      minSize: 8,
      maxSize: 8,
      featureShape: [4],
    });
    const whole = concat(slices);
    const loss = new BatchCorrelationLoss({ tol: "auto", scalarisation: "meansq" });
    const expected = loss.valueAndGrad(whole.x, whole.n);
    const exchanges = await Promise.all(slices.map(() => openNatsMomentExchange({ nats, prefix })));
    try {
      const results = await Promise.all(slices.map(async (slice, rank) => {
        const global = await allReduceMoments(exchanges[rank]!, slice, {
          rank,
          worldSize: 4,
          step: 3,
        });
        return globalValueAndGrad(loss, slice.x, slice.n, global);
      }));
      for (const result of results) assert.ok(Math.abs(result.value - expected.value) <= 1e-10);
      assert.ok(
        maxAbsDiff(results.flatMap((r) => Array.from(r.grad.data)), expected.grad.data) <= 1e-10,
      );
      // A rank publishing other moments for the same step is a conflict, not a silent overwrite.
      await assert.rejects(
        allReduceMoments(exchanges[0]!, slices[1]!, { rank: 0, worldSize: 4, step: 3 }),
        (error) =>
          error instanceof BatchCorrError && (error.code as string) === "all_reduce_conflict" &&
          /step 3/.test(error.message),
      );
    } finally {
      await Promise.all(exchanges.map((exchange) => exchange.close()));
    }
  });
});
