/**
 * A Redis aggregator process for the tests: its JSON argument holds the
 * aggregator's options; it prints `RECORD <json>` per record (without the
 * correlation tensors, plus `r`: the signed running correlations) and `DONE`.
 */
import process from "node:process";
import { readRedisCommitted, runRedisAggregator } from "../../src/redis/mod.ts";

const options = JSON.parse(process.argv[process.argv.length - 1]!);
for await (const record of runRedisAggregator({ ...options, output: "losses" })) {
  const { running, workers, batches, count, index } = record;
  process.stdout.write(
    `RECORD ${
      JSON.stringify({ index, batches, count, loss: running.loss, workers: workers.length })
    }\n`,
  );
}
// The final running state, read back for the test's exactness check.
const final = await readRedisCommitted({
  redis: options.redis,
  stream: options.stream,
  group: options.group,
});
const r = final.accumulator.count > 0
  ? Array.from(final.accumulator.correlations({ abs: false }).data)
  : [];
process.stdout.write(
  `DONE ${JSON.stringify({ count: final.accumulator.count, batches: final.batches, r })}\n`,
);
