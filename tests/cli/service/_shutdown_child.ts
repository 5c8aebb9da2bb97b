/**
 * A child process for shutdown_signal_test.ts: serves metrics, reads a
 * source that never ends until SIGTERM/SIGINT, then finishes the batch in
 * hand, closes the service and exits 0.
 */
import process from "node:process";
import { startMonitorService } from "../../../src/cli/service/monitor_service.ts";
import { listenForShutdown } from "../../../src/cli/service/shutdown_signal.ts";
import { untilAborted } from "../../../src/cli/service/until_aborted.ts";

async function* batchesForever() {
  for (let index = 0;; index++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    yield index;
  }
}

const shutdown = listenForShutdown();
const service = await startMonitorService({
  listen: "127.0.0.1:0",
  features: ["f"],
  confounds: ["c"],
  report: () => ({
    source: "child",
    settings: [],
    points: [],
    alertLevel: undefined,
    windowLabel: undefined,
    features: ["f"],
    confounds: ["c"],
    finalCorrelations: undefined,
    top: 5,
    rows: 0,
    samples: 0,
    badRows: { count: 0, rows: [] },
    skippedBatches: [],
  }),
});
process.stdout.write(`listening ${service.url}\n`);
let batches = 0;
for await (const index of untilAborted(batchesForever(), shutdown.signal)) {
  // The batch in hand is finished even when the signal comes meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 10));
  service.recordBatch({
    index,
    batchSize: 1,
    count: index + 1,
    tol: 0,
    loss: 0,
    running: { tol: 0, loss: 0 },
  }, {
    alert: false,
  });
  batches++;
}
const final = service.metricsText().match(/^batch_corr_batches_total (\d+)$/m)?.[1];
service.endInput();
await service.close();
shutdown.dispose();
process.stdout.write(
  `stopped by ${shutdown.received} after ${batches} batches; metrics say ${final}\n`,
);
process.exit(0);
