import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { batchCorr, BatchCorrelationLoss, BatchCorrError } from "../../mod.ts";
import { allReduceMoments, globalValueAndGrad } from "../../src/distributed/mod.ts";
import { openRedisMomentExchange } from "../../src/redis/mod.ts";
import { redisService } from "../_services.ts";
import { concat, maxAbsDiff } from "../fuzz_support.ts";
import { randomBatches } from "../distributed/_batches.ts";

const skip = redisService.skip;

/** Cuts one batch into `ranks` consecutive slices of rows. */
function slices(batch: ReturnType<typeof randomBatches>[number], ranks: number) {
  const B = batch.x.shape[0]!, F = batch.x.data.length / B, M = batch.n.shape[0]!;
  const size = B / ranks;
  return Array.from({ length: ranks }, (_, r) => {
    const from = r * size, to = from + size;
    const n = new Float64Array(M * size);
    for (let m = 0; m < M; m++) n.set(batch.n.data.subarray(m * B + from, m * B + to), m * size);
    return {
      x: { data: batch.x.data.slice(from * F, to * F), shape: [size, ...batch.x.shape.slice(1)] },
      n: { data: n, shape: [M, size] },
    };
  });
}

describe("allReduceMoments over Redis", () => {
  test(
    "4 ranks with a quarter batch each get batchCorr of the whole batch and, stacked, its valueAndGrad gradient to 1e-10",
    { skip, timeout: 30_000 },
    async () => {
      const redis = redisService.url();
      const prefix = `test-allreduce-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
      const [batch] = randomBatches({
        count: 1,
        seed: 61,
        featureShape: [2, 3],
        confounds: 3,
        minSize: 40,
        maxSize: 40,
      });
      const whole = concat([batch!]);
      const cases = [
        { correlation: { tol: "auto" as const }, scalarisation: "meansq" as const },
        { correlation: { tol: 0.05, abs: false }, scalarisation: "sum" as const },
      ];
      for (const { correlation: options, scalarisation } of cases) {
        const loss = new BatchCorrelationLoss({ ...options, scalarisation });
        const expected = loss.valueAndGrad(whole.x, whole.n, { wrt: "both" });
        const step = options.tol === "auto" ? 0 : 1;
        const exchanges = await Promise.all(
          [0, 1, 2, 3].map(() => openRedisMomentExchange({ redis, prefix })),
        );
        const parts = slices(batch!, 4);
        const results = await Promise.all(parts.map(async (part, rank) => {
          const global = await allReduceMoments(exchanges[rank]!, part, {
            rank,
            worldSize: 4,
            step,
          });
          return {
            global,
            grad: globalValueAndGrad(loss, part.x, part.n, global, { wrt: "both" }),
          };
        }));
        await Promise.all(exchanges.map((exchange) => exchange.close()));
        const reference = batchCorr(whole.x, whole.n, options);
        for (const { global, grad } of results) {
          assert.equal(global.count, 40);
          assert.ok(maxAbsDiff(global.correlations(options).data, reference.data) <= 1e-10);
          assert.ok(Math.abs(grad.value - expected.value) <= 1e-10);
        }
        const stacked = results.flatMap(({ grad }) => Array.from(grad.grad.data));
        assert.ok(
          maxAbsDiff(stacked, expected.grad.data) <= 1e-10,
          "stacked gradient with respect to X",
        );
        // ∂/∂N: each rank's (M, B/4) slice holds columns of the whole (M, B) gradient.
        const gradN = new Float64Array(3 * 40);
        results.forEach(({ grad }, rank) => {
          for (let m = 0; m < 3; m++) {
            gradN.set(grad.gradN!.data.subarray(m * 10, m * 10 + 10), m * 40 + rank * 10);
          }
        });
        assert.ok(maxAbsDiff(gradN, expected.gradN!.data) <= 1e-10, "gradient with respect to N");
      }
    },
  );

  test("a missing rank times out with an error naming the step and the ranks seen", {
    skip,
    timeout: 30_000,
  }, async () => {
    const redis = redisService.url();
    const prefix = `test-timeout-${Date.now()}`;
    const exchange = await openRedisMomentExchange({ redis, prefix });
    const [a, b] = randomBatches({ count: 2, seed: 62 });
    try {
      const waiting = Promise.all([
        allReduceMoments(exchange, a!, { rank: 0, worldSize: 3, step: 7, timeoutMs: 300 }),
        allReduceMoments(exchange, b!, { rank: 2, worldSize: 3, step: 7, timeoutMs: 300 }),
      ]);
      await assert.rejects(
        waiting,
        (error) =>
          error instanceof BatchCorrError && (error.code as string) === "all_reduce_timeout" &&
          /step 7/.test(error.message) && /ranks seen are 0, 2 \(missing 1\)/.test(error.message),
      );
    } finally {
      await exchange.close();
    }
  });
});
