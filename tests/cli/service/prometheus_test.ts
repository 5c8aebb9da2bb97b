/**
 * A real Prometheus scraping the monitor service every second while a drift
 * builds up, evaluating the committed alert rules (with their durations
 * shortened in a test copy).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startMonitorService } from "../../../src/cli/service/monitor_service.ts";
import { RunState } from "./_live_data.ts";
import { findExecutable, freePort, skipWithout, sleep, waitFor } from "./_support.ts";

const PROMETHEUS = findExecutable("prometheus");
const RULES = fileURLToPath(
  new URL("../../../examples/prometheus/batch_corr.rules.yml", import.meta.url),
);
const RUN = {
  batches: 44,
  batchSize: 40,
  features: 6,
  driftBatch: 20,
  strength: 0.8,
  seed: 4,
  window: 4,
  alert: 0.2,
};
const BATCH_EVERY_MS = 150;

/** The committed rules with every `for:` and range shortened to seconds. */
function shortRules(): string {
  const rules = readFileSync(RULES, "utf8");
  const short = rules.replace(/for: \d+[smh]/g, "for: 2s").replace(/\[\d+[smh]\]/g, "[5s]");
  assert.notEqual(short, rules);
  return short;
}

interface AlertState {
  labels: { alertname: string };
  state: "pending" | "firing";
}

async function api<T>(base: string, path: string): Promise<T> {
  const response = await fetch(`${base}${path}`);
  const body = await response.json() as { status: string; data: T };
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data;
}

async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(
    () => child.pid !== undefined && process.kill(child.pid, "SIGKILL"),
    10_000,
  );
  await exited;
  clearTimeout(timer);
}

test(
  "Prometheus scrapes the service, returns its last running loss and fires the committed alerts after the drift",
  { skip: skipWithout("prometheus", PROMETHEUS, "apt-get install prometheus"), timeout: 90_000 },
  async () => {
    assert.ok(PROMETHEUS, "prometheus must be installed under CI (apt-get install prometheus)");
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-prometheus-"));
    const state = new RunState(RUN);
    const service = await startMonitorService({
      listen: "127.0.0.1:0",
      features: state.features,
      confounds: state.confounds,
      alertLevel: RUN.alert,
      correlations: () => state.correlations(),
      report: () => state.report(),
    });
    const promPort = await freePort();
    const prom = `http://127.0.0.1:${promPort}`;
    writeFileSync(join(dir, "batch_corr.rules.yml"), shortRules());
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        `  - ${JSON.stringify(join(dir, "batch_corr.rules.yml"))}`,
        "scrape_configs:",
        "  - job_name: batch_corr",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${service.address.port}"]`,
        "",
      ].join("\n"),
    );
    let log = "";
    const child = spawn(PROMETHEUS!, [
      `--config.file=${join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      "--log.level=warn",
    ], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.setEncoding("utf8").on(
      "data",
      (text: string) => (log = (log + text).slice(-8000)),
    );
    const seen = new Map<string, Set<string>>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        try {
          for (
            const alert of (await api<{ alerts: AlertState[] }>(prom, "/api/v1/alerts")).alerts
          ) {
            const states = seen.get(alert.labels.alertname) ?? new Set();
            states.add(alert.state);
            seen.set(alert.labels.alertname, states);
          }
        } catch {
          // Not up yet.
        }
        await sleep(250);
      }
    })();
    try {
      await waitFor(
        async () => (await fetch(`${prom}/-/ready`).catch(() => undefined))?.status === 200,
        `Prometheus to be ready (log: ${log})`,
        30_000,
        100,
      );
      await waitFor(
        async () =>
          (await api<{ activeTargets: { health: string }[] }>(prom, "/api/v1/targets"))
            .activeTargets[0]?.health === "up",
        "the first scrape",
        10_000,
        100,
      );
      let rows = 0;
      let rejected = 0;
      let last: { running: number; count: number; index: number } | undefined;
      for await (const { result, alert } of state.results()) {
        if (result.index === RUN.driftBatch) {
          assert.deepEqual([...seen.keys()], [], "no alert before the drift");
        }
        rows += RUN.batchSize;
        // Bad rows start with the drift: 3 per batch.
        if (result.index >= RUN.driftBatch) rejected += 3;
        service.recordBatch(result, { alert, rows: { read: rows + rejected, rejected } });
        last = { running: result.running.loss, count: result.count, index: result.index };
        await sleep(BATCH_EVERY_MS);
      }
      await waitFor(
        () =>
          seen.get("BatchCorrWindowLossHigh")?.has("firing") === true &&
          seen.get("BatchCorrRejectedRowsHigh")?.has("firing") === true,
        `the window-loss and rejected-rows alerts to fire (seen ${
          JSON.stringify([...seen].map(([k, v]) => [k, [...v]]))
        })`,
        20_000,
      );
      let query: { value: [number, string] }[] = [];
      await waitFor(
        async () => {
          query = (await api<{ result: { value: [number, string] }[] }>(
            prom,
            "/api/v1/query?query=batch_corr_running_loss",
          )).result;
          return query.length === 1 && Number(query[0]!.value[1]) === last!.running;
        },
        "Prometheus to hold the last running loss",
        10_000,
        200,
      );
      const batches = (await api<{ result: { value: [number, string] }[] }>(
        prom,
        "/api/v1/query?query=batch_corr_batches_total",
      )).result;
      const samples = (await api<{ result: { value: [number, string] }[] }>(
        prom,
        "/api/v1/query?query=batch_corr_samples_total",
      )).result;
      assert.equal(Number(batches[0]!.value[1]), RUN.batches);
      assert.equal(Number(samples[0]!.value[1]), last!.count);
      // The input is still open and no batch comes: the stall alert fires.
      await waitFor(
        () => seen.get("BatchCorrNoBatches")?.has("firing") === true,
        "the no-batches alert to fire",
        20_000,
      );
      assert.equal(seen.has("BatchCorrInputFailed"), false);
      console.log(
        `Prometheus: batch_corr_running_loss = ${query[0]!.value[1]} (monitor's last: ${
          last!.running
        }); ` +
          `batch_corr_batches_total = ${batches[0]!.value[1]}; batch_corr_samples_total = ${
            samples[0]!.value[1]
          }; ` +
          `alerts seen: ${
            JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [k, [...v]])))
          }`,
      );
    } finally {
      watching = false;
      await watcher;
      await stopByPid(child);
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
