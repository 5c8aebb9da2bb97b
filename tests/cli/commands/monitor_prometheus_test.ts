/**
 * A real Prometheus scraping `generate | throttle | monitor - --metrics
 * 127.0.0.1:0` every second while a drift builds up, evaluating the
 * committed alert rules (their durations shortened in a test copy).
 * Prometheus is started on a free loopback port and stopped by its PID.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { findExecutable, freePort, skipWithout, sleep, waitFor } from "../service/_support.ts";
import { pipeline, records, serviceUrl, touch } from "./_cli_process.ts";

const PROMETHEUS = findExecutable("prometheus");
const RULES = fileURLToPath(
  new URL("../../../examples/prometheus/batch_corr.rules.yml", import.meta.url),
);
const RUN = { batches: 44, batchSize: 40, features: 6, driftBatch: 20, strength: 0.8, seed: 4 };
// Header + 3 batches at once (the monitor reads 100 rows ahead to choose its columns), then a
// batch every 150 ms; from the drift on, a bad row after every 13th line (about 3 per batch).
const FIRST_LINES = 1 + 3 * RUN.batchSize;
const DRIFT_LINE = 1 + RUN.driftBatch * RUN.batchSize;

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

type Vector = { metric: Record<string, string>; value: [number, string] }[];

async function api<T>(base: string, path: string): Promise<T> {
  const response = await fetch(`${base}${path}`);
  const body = await response.json() as { status: string; data: T };
  assert.equal(body.status, "success", JSON.stringify(body));
  return body.data;
}

async function query(base: string, promql: string): Promise<Vector> {
  return (await api<{ result: Vector }>(base, `/api/v1/query?query=${encodeURIComponent(promql)}`))
    .result;
}

async function stopByPid(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(
    () => child.pid !== undefined && process.kill(child.pid, "SIGKILL"),
    10_000,
  );
  await exited;
  clearTimeout(timer);
}

function startPrometheus(
  dir: string,
  port: number,
  target: string,
): ChildProcess & { log: string } {
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
      `      - targets: [${JSON.stringify(target)}]`,
      "",
    ].join("\n"),
  );
  const child = spawn(PROMETHEUS!, [
    `--config.file=${join(dir, "prometheus.yml")}`,
    `--storage.tsdb.path=${join(dir, "data")}`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--log.level=warn",
  ], { stdio: ["ignore", "ignore", "pipe"] }) as ChildProcess & { log: string };
  child.log = "";
  child.stderr!.setEncoding("utf8").on(
    "data",
    (text: string) => (child.log = (child.log + text).slice(-8000)),
  );
  return child;
}

test(
  "Prometheus scrapes monitor - --metrics, returns the monitor's last running loss and fires the committed alerts after the drift",
  { skip: skipWithout("prometheus", PROMETHEUS, "apt-get install prometheus"), timeout: 90_000 },
  async () => {
    assert.ok(PROMETHEUS, "prometheus must be installed under CI (apt-get install prometheus)");
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-prometheus-"));
    const run = pipeline(
      Object.entries(RUN).flatMap(([key, value]) => [
        `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
        String(value),
      ]),
      [
        ...["--first", String(FIRST_LINES), "--lines", String(RUN.batchSize)],
        ...["--every-ms", "150", "--start-file", join(dir, "go"), "--end-file", join(dir, "end")],
        ...["--insert-after", String(DRIFT_LINE), "--insert-every", "13", "--insert", "bad,row"],
      ],
      [
        ..."-c c -b 40 --window 4 --alert 0.2 --format ndjson --on-bad-row skip".split(" "),
        ..."--metrics 127.0.0.1:0 --serve-after 60".split(" "),
      ],
    );
    let prometheus: (ChildProcess & { log: string }) | undefined;
    const seen = new Map<string, Set<string>>();
    let watching = true;
    let watcher: Promise<void> = Promise.resolve();
    try {
      const url = await serviceUrl(run.monitor);
      const promPort = await freePort();
      const prom = `http://127.0.0.1:${promPort}`;
      prometheus = startPrometheus(dir, promPort, new URL(url).host);
      watcher = (async () => {
        while (watching) {
          try {
            const { alerts } = await api<{ alerts: AlertState[] }>(prom, "/api/v1/alerts");
            for (const alert of alerts) {
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
      await waitFor(
        async () => (await fetch(`${prom}/-/ready`).catch(() => undefined))?.status === 200,
        `Prometheus to be ready (log: ${prometheus.log})`,
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
      touch(join(dir, "go"));
      await waitFor(
        () => records(run.monitor).length >= RUN.driftBatch,
        "the batch before the drift",
        30_000,
      );
      assert.deepEqual([...seen.keys()], [], "no alert before the drift");
      await waitFor(
        () =>
          seen.get("BatchCorrWindowLossHigh")?.has("firing") === true &&
          seen.get("BatchCorrRejectedRowsHigh")?.has("firing") === true,
        `the window-loss and rejected-rows alerts to fire (seen ${
          JSON.stringify([...seen].map(([k, v]) => [k, [...v]]))
        })`,
        30_000,
      );
      await waitFor(() => records(run.monitor).length === RUN.batches, "every batch", 30_000);
      const last = records(run.monitor).at(-1)!;
      let running: Vector = [];
      await waitFor(
        async () => {
          running = await query(prom, "batch_corr_running_loss");
          return running.length === 1 && Number(running[0]!.value[1]) === last.running.loss;
        },
        "Prometheus to hold the monitor's last running loss",
        10_000,
        200,
      );
      const batches = await query(prom, "batch_corr_batches_total");
      const samples = await query(prom, "batch_corr_samples_total");
      assert.equal(Number(batches[0]!.value[1]), RUN.batches);
      assert.equal(Number(samples[0]!.value[1]), last.count);
      // The producer holds its pipe open and sends nothing: the stall alert fires.
      await waitFor(
        () => seen.get("BatchCorrNoBatches")?.has("firing") === true,
        "the no-batches alert to fire",
        20_000,
      );
      assert.equal(seen.has("BatchCorrInputFailed"), false);
      // The input ends: the monitor says so, and keeps serving (--serve-after).
      touch(join(dir, "end"));
      await run.monitor.stderrMatch(/still serving/, "the input to end");
      await waitFor(
        async () =>
          Number((await query(prom, 'batch_corr_input_state{state="ended"}'))[0]?.value[1]) === 1,
        "Prometheus to see the input ended",
        10_000,
        200,
      );
      console.log(
        `Prometheus /api/v1/query: batch_corr_running_loss = ${running[0]!.value[1]} ` +
          `(monitor's last NDJSON running.loss: ${last.running.loss}); ` +
          `batch_corr_batches_total = ${batches[0]!.value[1]}; ` +
          `batch_corr_samples_total = ${samples[0]!.value[1]}; /api/v1/alerts states seen: ${
            JSON.stringify(Object.fromEntries([...seen].map(([k, v]) => [k, [...v]])))
          }`,
      );
      // SIGTERM ends --serve-after: exit 0.
      run.monitor.signal("SIGTERM");
      assert.equal(await run.monitor.exited, 0, run.monitor.stderr);
    } finally {
      watching = false;
      await watcher;
      if (prometheus !== undefined) await stopByPid(prometheus);
      await run.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
