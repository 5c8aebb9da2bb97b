import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { BatchCorrError, CorrelationAccumulator } from "../../mod.ts";
import {
  allReduceMoments,
  mergeCommitted,
  type MomentExchange,
} from "../../src/distributed/mod.ts";
import { assertMatches, randomBatches } from "./_batches.ts";

function memoryExchange(): MomentExchange {
  const table = new Map<string, Uint8Array>();
  return {
    publish(step, rank, payload) {
      const key = `${step}/${rank}`;
      if (!table.has(key)) table.set(key, payload);
      return Promise.resolve(table.get(key)!);
    },
    read(step) {
      const found = new Map<number, Uint8Array>();
      for (const [key, value] of table) {
        if (key.startsWith(`${step}/`)) found.set(Number(key.split("/")[1]), value);
      }
      return Promise.resolve(found);
    },
  };
}

describe("allReduceMoments", () => {
  test("every rank gets the same bits: the merge in rank order of all slices", async () => {
    const exchange = memoryExchange();
    const slices = randomBatches({ count: 5, seed: 71 });
    const results = await Promise.all(
      slices.map((slice, rank) =>
        allReduceMoments(exchange, slice, { rank, worldSize: 5, step: 0 })
      ),
    );
    const first = results[0]!.toBytes();
    for (const result of results) assert.deepEqual(result.toBytes(), first);
    assertMatches(results[0]!, slices);
  });

  test("a retried publish of the same moments is harmless; other moments for the same rank and step are a conflict", async () => {
    const exchange = memoryExchange();
    const [a, b] = randomBatches({ count: 2, seed: 72 });
    const own = new CorrelationAccumulator().update(a!.x, a!.n);
    await allReduceMoments(exchange, own, { rank: 0, worldSize: 1, step: 4 });
    await allReduceMoments(exchange, own, { rank: 0, worldSize: 1, step: 4 });
    await assert.rejects(
      allReduceMoments(exchange, b!, { rank: 0, worldSize: 1, step: 4 }),
      (error) =>
        error instanceof BatchCorrError && (error.code as string) === "all_reduce_conflict",
    );
  });

  test("ranks that disagree on the world size are a conflict naming the step", async () => {
    const exchange = memoryExchange();
    const [a, b] = randomBatches({ count: 2, seed: 73 });
    await assert.rejects(
      Promise.all([
        allReduceMoments(exchange, a!, { rank: 0, worldSize: 2, step: 9, timeoutMs: 200 }),
        allReduceMoments(exchange, b!, { rank: 1, worldSize: 3, step: 9, timeoutMs: 200 }),
      ]),
      (error) =>
        error instanceof BatchCorrError && /step 9/.test(error.message) &&
        /worldSize/.test(error.message),
    );
  });

  test("a timeout names the step, the ranks seen and the ranks missing", async () => {
    const [a] = randomBatches({ count: 1, seed: 74 });
    await assert.rejects(
      allReduceMoments(memoryExchange(), a!, { rank: 1, worldSize: 4, step: 12, timeoutMs: 50 }),
      (error) =>
        error instanceof BatchCorrError && (error.code as string) === "all_reduce_timeout" &&
        /step 12/.test(error.message) && /ranks seen are 1 \(missing 0, 2, 3\)/.test(error.message),
    );
  });

  test("rejects a rank outside the world and a malformed local batch", async () => {
    const [a] = randomBatches({ count: 1, seed: 75 });
    await assert.rejects(
      allReduceMoments(memoryExchange(), a!, { rank: 4, worldSize: 4, step: 0 }),
      RangeError,
    );
    await assert.rejects(
      allReduceMoments(memoryExchange(), a!, { rank: 0, worldSize: 1, step: -1 }),
      /options.step/,
    );
    await assert.rejects(
      allReduceMoments(memoryExchange(), 5 as never, { rank: 0, worldSize: 1, step: 0 }),
      TypeError,
    );
  });

  test("mergeCommitted merges in name order whatever the input order", () => {
    const batches = randomBatches({ count: 3, seed: 76 });
    const parts = batches.map((batch, i) => ({
      name: `w${i}`,
      snapshot: new CorrelationAccumulator().update(batch.x, batch.n).toBytes(),
      batches: 1,
      commits: 1,
      deadLetters: 0,
    }));
    const forward = mergeCommitted(parts).toBytes();
    assert.deepEqual(mergeCommitted([...parts].reverse()).toBytes(), forward);
    assertMatches(mergeCommitted(parts), batches);
  });
});
