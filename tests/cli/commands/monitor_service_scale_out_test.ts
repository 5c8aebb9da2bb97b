/**
 * `monitor --redis/--nats --metrics`: the aggregating monitor served as
 * Prometheus metrics, `/healthz` and the live page, through the real CLI
 * against real servers (REDIS_URL, NATS_URL; see tests/_services.ts). The
 * gauges equal the monitor's own NDJSON and `monitor <file>`'s running loss,
 * the counters the group's committed batches and samples, the top-k series
 * an independent ranking; SIGINT/SIGTERM end it with exit 0, and a
 * corrupted committed state turns `/healthz` to 503.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorrelationAccumulator } from "../../../mod.ts";
import { openRedis } from "../../../src/redis/_client.ts";
import { openNats } from "../../../src/nats/_client.ts";
import { natsService, redisService, type Service } from "../../_services.ts";
import { parseExposition, samplesOf, valueOf, waitFor } from "../service/_support.ts";
import { type Child, cli, records, serviceUrl } from "./_cli_process.ts";
import { fileMonitor, runCli, uniqueName, writeCsv } from "./_scale_out_cli.ts";

const BATCH = 25;
const BATCHES = 12;
const FEATURES = ["f0", "f1", "f2", "f3"];
const INPUT = ["-c", "c0", "-f", FEATURES.join(","), "-b", String(BATCH)];
const TOP = 2;

let dir = "";
before(() => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-monitor-scale-out-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function scrape(url: string) {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

async function health(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/healthz`);
  return { status: response.status, body: await response.json() };
}

/** null in an NDJSON record stands for NaN. */
function num(value: number | null | undefined): number {
  return value === null || value === undefined ? Number.NaN : value;
}

/** The top-k |r| with c0 over the whole file, ranked here from one accumulator over every row. */
function fileRanking(file: string): { feature: string; r: number }[] {
  const lines = readFileSync(file, "utf8").trim().split("\n");
  const header = lines[0]!.split(",");
  const rows = lines.slice(1).map((line) => line.split(","));
  const at = (name: string) => header.indexOf(name);
  const x = rows.map((row) => FEATURES.map((name) => Number(row[at(name)])));
  const n = rows.map((row) => Number(row[at("c0")]));
  const r = new CorrelationAccumulator().update(x, n).correlations({ tol: 0, abs: false }).data;
  return FEATURES.map((feature, f) => ({ feature, r: Math.abs(r[f]!) }))
    .sort((a, b) => b.r - a.r).slice(0, TOP);
}

interface EngineCase {
  name: "redis" | "nats";
  service: Service;
  /** Makes the group's committed state unreadable (a fatal input error for the monitor). */
  corrupt(url: string, stream: string): Promise<void>;
}

const ENGINES: EngineCase[] = [
  {
    name: "redis",
    service: redisService,
    async corrupt(url, stream) {
      // A worker "zz" whose checkpoint is not a snapshot: the next read fails to merge it.
      const opened = await openRedis(url, "corrupt the committed state");
      try {
        await opened.client.callBuffer("SADD", `${stream}:bc:g:workers`, "zz");
        await opened.client.callBuffer(
          "HSET",
          `${stream}:bc:g:checkpoint:zz`,
          "snapshot",
          "not a snapshot",
          "batches",
          "1",
          "commits",
          "1",
          "deadLetters",
          "0",
        );
      } finally {
        await opened.close();
      }
    },
  },
  {
    name: "nats",
    service: natsService,
    async corrupt(url, stream) {
      // Partition 0's checkpoint replaced by bytes that are not a checkpoint.
      const nats = await openNats(url, "corrupt the committed state");
      try {
        const bucket = await nats.kvm.create(`${stream}_g_checkpoints`, { history: 1 });
        await bucket.put("p0000", new TextEncoder().encode("not a checkpoint"));
      } finally {
        await nats.close();
      }
    },
  },
];

/** A stream name of this run's own. */
function streamName(engine: EngineCase): string {
  return uniqueName(`metrics-${engine.name}`).replace(/[.]/g, "_");
}

/** Writes and publishes a seeded file of 12 batches; returns its path. */
async function published(
  engine: EngineCase,
  url: string,
  S: string,
  seed: number,
): Promise<string> {
  const file = join(dir, `${S}.csv`);
  writeCsv(file, BATCHES * BATCH, seed);
  const result = await runCli(["publish", file, ...INPUT, `--${engine.name}`, url, "--stream", S]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, new RegExp(`published ${BATCHES} batches`));
  return file;
}

/** One worker of group g folds every batch, then exits idle. */
async function workedThrough(engine: EngineCase, url: string, S: string): Promise<void> {
  const worker = await runCli([
    "worker",
    `--${engine.name}`,
    url,
    "--stream",
    S,
    "--group",
    "g",
    // Redis workers need names of their own; JetStream partitions are the parts.
    ...(engine.name === "redis" ? ["--name", "w1"] : []),
    "--until-idle",
    "0.5",
  ]);
  assert.equal(worker.code, 0, worker.stderr);
}

/** `monitor --redis/--nats … --metrics 127.0.0.1:0`, reading every 0.1 s. */
function monitor(engine: EngineCase, url: string, S: string, extra: string[]): Child {
  return cli([
    "monitor",
    `--${engine.name}`,
    url,
    "--stream",
    S,
    "--group",
    "g",
    "--interval",
    "0.1",
    "--metrics",
    "127.0.0.1:0",
    ...extra,
  ]);
}

/** Waits until the service counts every published batch as committed. */
async function committedAll(service: string): Promise<void> {
  await waitFor(
    async () => valueOf(await scrape(service), "batch_corr_batches_total") === BATCHES,
    "the monitor to see every batch committed",
    30_000,
  );
}

for (const engine of ENGINES) {
  const skip = engine.service.skip;
  const flag = `--${engine.name}`;

  describe(`batch-corr monitor ${flag} --metrics`, () => {
    test(
      "serves the group's view: it waits without names before the first commit, then its gauges equal its own last NDJSON record and monitor <file>'s running loss, its counters the committed batches and samples, and its top-k an independent ranking",
      { skip, timeout: 120_000 },
      async () => {
        const url = engine.service.url();
        const S = streamName(engine);
        const file = await published(engine, url, S, 51);
        const window = engine.name === "redis" ? ["--window", "3"] : [];
        const run = monitor(engine, url, S, [
          "--until-idle",
          "1",
          "--format",
          "ndjson",
          "--top",
          String(TOP),
          "--alert",
          "0.3",
          "--no-fail-on-alert",
          "--serve-after",
          "60",
          ...window,
        ]);
        try {
          const service = await serviceUrl(run);
          // Nothing committed yet: healthy and waiting, no gauge value and no names.
          const waiting = await health(service);
          assert.equal(waiting.status, 200);
          assert.equal(waiting.body.input, "waiting");
          const empty = await scrape(service);
          assert.equal(valueOf(empty, "batch_corr_running_loss"), undefined);
          assert.equal(valueOf(empty, "batch_corr_batches_total"), 0);
          assert.equal(valueOf(empty, "batch_corr_features"), undefined);
          assert.deepEqual(samplesOf(empty, "batch_corr_top_abs_correlation"), []);
          assert.equal((await fetch(`${service}/`)).status, 200, "the live page before any name");

          await workedThrough(engine, url, S);
          await run.stderrMatch(/still serving/, "the input to end (--until-idle)");
          const metrics = await scrape(service);
          const all = records(run);
          const last = all.at(-1)!;
          const gauge = (name: string) => valueOf(metrics, name);
          assert.equal(gauge("batch_corr_batch_loss"), num(last.loss));
          assert.equal(gauge("batch_corr_running_loss"), num(last.running.loss));
          assert.equal(gauge("batch_corr_tol"), num(last.tol));
          assert.equal(gauge("batch_corr_running_tol"), num(last.running.tol));
          assert.equal(gauge("batch_corr_running_samples"), last.count);
          assert.equal(gauge("batch_corr_alert"), last.alert ? 1 : 0);
          assert.equal(gauge("batch_corr_alert_level"), 0.3);
          if (engine.name === "redis") {
            assert.equal(gauge("batch_corr_window_loss"), num(last.window.loss));
            assert.equal(gauge("batch_corr_window_tol"), num(last.window.tol));
            assert.equal(gauge("batch_corr_window_effective_samples"), last.window.effectiveCount);
            assert.equal(last.window.effectiveCount, 3 * BATCH, "the last 3 committed batches");
          } else {
            assert.equal(gauge("batch_corr_window_loss"), undefined, "JetStream has no window");
          }

          // The counters: the group's committed batches and samples, not the monitor's lines.
          assert.equal(gauge("batch_corr_batches_total"), BATCHES);
          assert.equal(gauge("batch_corr_batches_skipped_total"), 0);
          assert.equal(gauge("batch_corr_samples_total"), BATCHES * BATCH);
          assert.equal(gauge("batch_corr_rows_read_total"), BATCHES * BATCH);
          assert.equal(gauge("batch_corr_rows_rejected_total"), 0);
          assert.equal(last.count, BATCHES * BATCH);
          assert.equal(gauge("batch_corr_features"), FEATURES.length);
          assert.equal(gauge("batch_corr_confounds"), 1);

          // Independently: monitor <file> over the same file ends on the same running loss.
          const reference = (await fileMonitor(file, INPUT)).at(-1)!;
          assert.equal(reference.count, last.count);
          const difference = Math.abs(gauge("batch_corr_running_loss")! - reference.running.loss);
          assert.ok(
            difference <= 1e-12,
            `running loss differs from monitor <file> by ${difference}`,
          );

          // The top-k |r| per confound, named by the publisher's columns.
          const top = samplesOf(metrics, "batch_corr_top_abs_correlation");
          const info = samplesOf(metrics, "batch_corr_top_feature_info");
          const ranking = fileRanking(file);
          assert.equal(top.length, TOP);
          ranking.forEach(({ feature, r }, i) => {
            const rank = String(i + 1);
            const value = top.find((s) => s.labels.confound === "c0" && s.labels.rank === rank);
            assert.ok(value && Math.abs(value.value - r) <= 1e-12, `rank ${rank}: ${value?.value}`);
            assert.ok(
              info.some((s) => s.labels.rank === rank && s.labels.feature === feature),
              `rank ${rank} names ${feature}`,
            );
          });

          const ended = await health(service);
          assert.deepEqual([ended.status, ended.body.input, ended.body.batches], [
            200,
            "ended",
            BATCHES,
          ]);
          const page = await (await fetch(`${service}/`)).text();
          assert.match(page, /f0/);
          assert.match(page, /c0/);

          // SIGTERM ends --serve-after: exit 0, and the service is closed.
          run.signal("SIGTERM");
          assert.equal(await run.exited, 0, run.stderr);
          await assert.rejects(fetch(`${service}/healthz`), "closed at exit");
        } finally {
          await run.stop();
        }
      },
    );

    test(
      "SIGINT while it waits for more commits ends it after the record in hand: the summary, a closed service and exit 0",
      { skip, timeout: 120_000 },
      async () => {
        const url = engine.service.url();
        const S = streamName(engine);
        await published(engine, url, S, 52);
        await workedThrough(engine, url, S);
        const run = monitor(engine, url, S, ["--serve-after", "60"]);
        try {
          const service = await serviceUrl(run);
          await committedAll(service);
          assert.equal((await health(service)).body.input, "flowing");
          run.signal("SIGINT");
          assert.equal(await run.exited, 0, run.stderr);
          assert.match(
            run.stdout,
            new RegExp(`^${BATCHES} batches, ${BATCHES * BATCH} rows from`, "m"),
          );
          assert.match(run.stdout, /stopped by SIGINT/);
          assert.doesNotMatch(run.stderr, /still serving/, "a signal skips --serve-after");
          await assert.rejects(fetch(`${service}/healthz`), "closed at exit");
        } finally {
          await run.stop();
        }
      },
    );

    test(
      "a committed state that cannot be read is a fatal input error: /healthz answers 503 with the message during --serve-after, and the exit code stays 2",
      { skip, timeout: 120_000 },
      async () => {
        const url = engine.service.url();
        const S = streamName(engine);
        await published(engine, url, S, 53);
        await workedThrough(engine, url, S);
        const run = monitor(engine, url, S, ["--serve-after", "60", "--retry-for", "0.3"]);
        try {
          const service = await serviceUrl(run);
          await committedAll(service);
          await engine.corrupt(url, S);
          await waitFor(
            async () => (await health(service)).status === 503,
            "/healthz to answer 503",
            30_000,
          );
          const failed = await health(service);
          assert.equal(failed.body.input, "failed");
          assert.match(String(failed.body.error), /checkpoint|snapshot/i);
          const metrics = await scrape(service);
          const state = samplesOf(metrics, "batch_corr_input_state")
            .find((s) => s.labels.state === "failed");
          assert.equal(state?.value, 1);
          assert.equal(valueOf(metrics, "batch_corr_batches_total"), BATCHES, "kept");
          assert.match(run.stderr, /the input failed .*\/healthz answers 503 for 60 s/s);
          run.signal("SIGTERM");
          assert.equal(await run.exited, 2, "the error keeps its exit code");
          assert.match(run.stderr, /checkpoint|snapshot/i);
        } finally {
          await run.stop();
        }
      },
    );
  });
}
