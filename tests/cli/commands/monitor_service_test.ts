/**
 * `monitor --metrics` and `--serve-after` through the real CLI: the gauges
 * equal the run's own NDJSON records, counters only go up, the top-k series
 * stay at k × M with 10,000 features, a fatal input error turns /healthz to
 * 503, SIGINT/SIGTERM stop a run cleanly, and bad addresses exit 2.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../../../src/cli/main.ts";
import { parseMonitorArgs } from "../../../src/cli/commands/monitor_args.ts";
import {
  MonitorServiceHook,
  type ServedRecord,
} from "../../../src/cli/commands/_monitor_service.ts";
import { driftDataLines } from "../../../src/cli/input/drift_data.ts";
import { parseExposition, samplesOf, sleep, valueOf, waitFor } from "../service/_support.ts";
import { cli, type Pipeline, pipeline, records, serviceUrl } from "./_cli_process.ts";

let dir = "";

before(() => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-monitor-service-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function memoryIo() {
  const io = {
    out: "",
    err: "",
    stdout: { write: (text: string) => void (io.out += text) },
    stderr: { write: (text: string) => void (io.err += text) },
    stdin: () => [],
    stderrIsTty: false,
  };
  return io;
}

async function scrape(url: string) {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  return parseExposition(await response.text());
}

/** null in an NDJSON record stands for NaN. */
function num(value: number | null | undefined): number {
  return value === null || value === undefined ? Number.NaN : value;
}

/** The rows read / rejected of the summary line `rows read R, used U, rejected J`. */
function summaryCounts(text: string): { read: number; used: number; rejected: number } {
  const match = /rows read (\d+), used (\d+), rejected (\d+)/.exec(text);
  assert.ok(match, `no row counts in: ${text}`);
  return { read: Number(match[1]), used: Number(match[2]), rejected: Number(match[3]) };
}

describe("monitor --metrics and --serve-after: flags", () => {
  test("reads HOST:PORT, :PORT and PORT with 127.0.0.1 as the default host; no service by default", () => {
    const base = ["data.csv", "-c", "c"];
    assert.deepEqual(parseMonitorArgs([...base, "--metrics", "9464"]).metrics, {
      host: "127.0.0.1",
      port: 9464,
    });
    assert.deepEqual(parseMonitorArgs([...base, "--metrics", ":0"]).metrics, {
      host: "127.0.0.1",
      port: 0,
    });
    const v6 = parseMonitorArgs([...base, "--metrics", "[::1]:9000", "--serve-after", "2.5"]);
    assert.deepEqual([v6.metrics, v6.serveAfter], [{ host: "::1", port: 9000 }, 2.5]);
    const plain = parseMonitorArgs(base);
    assert.equal(plain.metrics, undefined);
    assert.equal(plain.serveAfter, 0);
  });

  test("a bad --metrics or --serve-after exits 2 with the rule and the value, before any input is read", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--metrics", "not a host:9464"],
        /Cannot listen for metrics as the host of "not a host:9464" must be an IPv4 address.*current value is "not a host"/,
      ],
      [["--metrics", "999.1.1.1:9464"], /host of "999\.1\.1\.1:9464" must be/],
      [
        ["--metrics", "127.0.0.1:70000"],
        /port of "127\.0\.0\.1:70000" must be an integer from 0 to 65535/,
      ],
      [["--metrics", "localhost"], /must be HOST:PORT, :PORT or PORT .*current value has no port/],
      [
        ["--metrics", ":0", "--serve-after=-1"],
        /--serve-after must be a non-negative number of seconds: current value is "-1"/,
      ],
      [
        ["--serve-after", "5"],
        /--serve-after must come with --metrics HOST:PORT .*current value is 5 without --metrics/,
      ],
    ];
    for (const [flags, message] of cases) {
      const io = memoryIo();
      const code = await main(["monitor", join(dir, "absent.csv"), "-c", "c", ...flags], io);
      assert.equal(code, 2, flags.join(" "));
      assert.match(io.err, message, flags.join(" "));
      assert.doesNotMatch(io.err, /absent\.csv/, "the flags are checked before the input");
    }
  });
});

/** Records as an aggregator would emit them, mapped to the fields of a BatchResult. */
async function* aggregates(): AsyncGenerator<ServedRecord & { id: string }> {
  for (let index = 0; index < 3; index++) {
    const loss = 0.1 * (index + 1);
    yield {
      id: `interval-${index}`,
      record: {
        index,
        batchSize: 50,
        count: 50 * (index + 1),
        tol: 0.1,
        loss,
        running: { tol: 0.05, loss: loss / 2 },
        window: { tol: 0.08, loss, effectiveCount: 100 },
      },
      alert: loss >= 0.3,
      rows: { read: 50 * (index + 1), rejected: index },
    };
  }
}

describe("MonitorServiceHook", () => {
  const setup = {
    features: ["f0", "f1"],
    confounds: ["c"],
    correlations: () => new Float64Array([0.5, -0.25]),
    report: () => ({
      source: "aggregator",
      settings: [],
      points: [],
      alertLevel: undefined,
      windowLabel: undefined,
      features: ["f0", "f1"],
      confounds: ["c"],
      finalCorrelations: undefined,
      top: 2,
      rows: 0,
      samples: 0,
      badRows: { count: 0, rows: [] },
      skippedBatches: [],
    }),
  };

  test("served() records a stream of BatchResult-like records (an aggregator's) as they pass", async () => {
    const io = memoryIo();
    const hook = await MonitorServiceHook.open(
      { metrics: { host: "127.0.0.1", port: 0 }, serveAfter: 0, top: 2, alert: 0.3 },
      io,
      setup,
    );
    try {
      assert.match(io.err, new RegExp(`serving ${hook.url}/metrics`));
      const ids: string[] = [];
      for await (const item of hook.served(aggregates())) {
        ids.push(item.id);
        const metrics = await scrape(hook.url!);
        assert.equal(
          valueOf(metrics, "batch_corr_batches_total"),
          ids.length,
          "recorded before it is yielded",
        );
        assert.equal(valueOf(metrics, "batch_corr_window_loss"), item.record.window!.loss);
      }
      assert.deepEqual(ids, ["interval-0", "interval-1", "interval-2"]);
      const metrics = await scrape(hook.url!);
      assert.equal(valueOf(metrics, "batch_corr_alert"), 1);
      assert.equal(valueOf(metrics, "batch_corr_rows_rejected_total"), 2);
      assert.equal(valueOf(metrics, "batch_corr_samples_total"), 150);
      hook.endInput();
      await hook.serveAfterInput(new AbortController().signal);
      await assert.rejects(fetch(`${hook.url}/healthz`), "closed");
    } finally {
      await hook.close();
    }
  });

  test("without --metrics every call does nothing and rows pass through unchanged", async () => {
    const hook = await MonitorServiceHook.open(
      { metrics: undefined, serveAfter: 0, top: 5, alert: undefined },
      memoryIo(),
      setup,
    );
    const rows = [1, 2, 3];
    const source = (async function* () {
      yield* rows;
    })();
    assert.equal(hook.watchRows(source, () => ({ read: 0, rejected: 0 })), source);
    assert.equal(hook.url, undefined);
    hook.recordBatch({
      index: 0,
      batchSize: 1,
      count: 1,
      tol: 0,
      loss: 0,
      running: { tol: 0, loss: 0 },
    }, false);
    await hook.fail(new Error("x"), new AbortController().signal);
    await hook.serveAfterInput(new AbortController().signal);
  });
});

describe("monitor --metrics through the real CLI (subprocess)", () => {
  test("a port already in use and a host that is not an address here exit 2 with a message, printing no batch", async () => {
    const file = join(dir, "small.csv");
    writeFileSync(
      file,
      [...driftDataLines({
        batches: 4,
        batchSize: 30,
        features: 3,
        driftBatch: 2,
        strength: 0.5,
        seed: 1,
      }, "csv")].join(""),
    );
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      const runs: [string, RegExp][] = [
        [`127.0.0.1:${port}`, new RegExp(`127\\.0\\.0\\.1:${port}.*in use`)],
        ["192.0.2.1:0", /192\.0\.2\.1/],
        ["not a host:9464", /Cannot listen for metrics as the host of "not a host:9464"/],
      ];
      for (const [address, message] of runs) {
        const monitor = cli(["monitor", file, "-c", "c", "-b", "30", "--metrics", address]);
        assert.equal(await monitor.exited, 2, `${address}: ${monitor.stderr}`);
        assert.match(monitor.stderr, message, address);
        assert.equal(monitor.stdout, "", address);
        assert.doesNotMatch(monitor.stderr, /internal error/);
      }
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  test(
    "the gauges equal the run's last NDJSON record, the counters only go up, and after --serve-after the usual exit code comes",
    {
      timeout: 60_000,
    },
    async () => {
      const run = pipeline(
        ["--batches", "24", "--batch-size", "30", "--features", "5", "--drift-batch", "12"],
        [
          "--first",
          "101",
          "--lines",
          "30",
          "--every-ms",
          "60",
          "--insert-after",
          "200",
          "--insert-every",
          "17",
          "--insert",
          "bad,row",
        ],
        [
          ..."-c c -b 30 --window 3 --alert 0.25 --format ndjson --on-bad-row skip".split(" "),
          ..."--metrics 127.0.0.1:0 --serve-after 2".split(" "),
        ],
      );
      try {
        const url = await serviceUrl(run.monitor);
        assert.match(url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/, "the real port, not 0");
        const counters = [
          "batch_corr_batches_total",
          "batch_corr_samples_total",
          "batch_corr_rows_read_total",
          "batch_corr_rows_rejected_total",
          "batch_corr_batches_skipped_total",
        ];
        const seen: number[][] = [];
        while (!/still serving/.test(run.monitor.stderr)) {
          assert.ok(run.monitor.running, run.monitor.stderr);
          const exposition = await scrape(url);
          seen.push(counters.map((name) => valueOf(exposition, name)!));
          await sleep(40);
        }
        const servingFrom = Date.now();
        const metrics = await scrape(url);
        const all = records(run.monitor);
        const last = all.at(-1)!;
        assert.equal(all.length, 24);
        const gauges: [string, number][] = [
          ["batch_corr_batch_loss", num(last.loss)],
          ["batch_corr_running_loss", num(last.running.loss)],
          ["batch_corr_window_loss", num(last.window.loss)],
          ["batch_corr_tol", num(last.tol)],
          ["batch_corr_running_tol", num(last.running.tol)],
          ["batch_corr_window_tol", num(last.window.tol)],
          ["batch_corr_alert", last.alert ? 1 : 0],
          ["batch_corr_alert_level", 0.25],
          ["batch_corr_running_samples", last.count],
          ["batch_corr_window_effective_samples", num(last.window.effectiveCount)],
          ["batch_corr_features", 5],
          ["batch_corr_confounds", 1],
        ];
        for (const [name, expected] of gauges) assert.equal(valueOf(metrics, name), expected, name);
        const counts = summaryCounts(run.monitor.stderr);
        assert.ok(counts.rejected > 0, "bad rows were inserted");
        const finals = [
          all.length,
          all.reduce((sum, r) => sum + (r.skipped ? 0 : r.batchSize), 0),
          counts.read,
          counts.rejected,
          all.filter((r) => r.skipped).length,
        ];
        assert.deepEqual(counters.map((name) => valueOf(metrics, name)), finals);
        assert.equal(
          samplesOf(metrics, "batch_corr_input_state").find((s) => s.labels.state === "ended")
            ?.value,
          1,
        );
        // Counters only go up, and the scrapes saw them move.
        seen.push(finals);
        for (let i = 1; i < seen.length; i++) {
          counters.forEach((name, c) =>
            assert.ok(
              seen[i]![c]! >= seen[i - 1]![c]!,
              `${name} went down: ${seen[i - 1]} → ${seen[i]}`,
            )
          );
        }
        assert.ok(new Set(seen.map((s) => s[0])).size >= 4, "the scrapes saw batches arrive");
        const health = await fetch(`${url}/healthz`);
        assert.equal(health.status, 200);
        assert.equal((await health.json()).input, "ended");
        // Still served during --serve-after, then the usual code: 3, an alert fired.
        assert.ok(all.some((r) => r.alert), "the drift crossed the alert level");
        assert.equal(await run.monitor.exited, 3, run.monitor.stderr);
        assert.ok(Date.now() - servingFrom >= 1500, "served about 2 s after the input ended");
        await assert.rejects(fetch(`${url}/healthz`), "closed at exit");
      } finally {
        await run.stop();
      }
    },
  );

  test(
    "with 10,000 features the top-k series stay at k × M and name the features an independent ranking finds",
    {
      timeout: 60_000,
    },
    async () => {
      const F = 10_000;
      const M = 3;
      const B = 40;
      const k = 4;
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
      const rows = Array.from({ length: B }, () => Array.from({ length: F + M }, random));
      // A few features made to follow each confound, at different strengths.
      rows.forEach((row) => {
        for (let m = 0; m < M; m++) {
          for (let j = 0; j < k + 1; j++) row[100 * m + j] = row[F + m]! * (1 + j) + random();
        }
      });
      const names = [
        ...Array.from({ length: F }, (_, j) => `f${j}`),
        ...Array.from({ length: M }, (_, m) => `c${m}`),
      ];
      const file = join(dir, "wide.csv");
      writeFileSync(file, [names.join(","), ...rows.map((row) => row.join(","))].join("\n") + "\n");
      const monitor = cli([
        "monitor",
        file,
        "-c",
        "c0,c1,c2",
        "-b",
        String(B),
        "--top",
        String(k),
        "--format",
        "ndjson",
        "--metrics",
        "127.0.0.1:0",
        "--serve-after",
        "60",
      ]);
      try {
        const url = await serviceUrl(monitor);
        await monitor.stderrMatch(/still serving/, "the input to end", 30_000);
        const metrics = await scrape(url);
        const top = samplesOf(metrics, "batch_corr_top_abs_correlation");
        const info = samplesOf(metrics, "batch_corr_top_feature_info");
        assert.equal(top.length, k * M);
        assert.equal(info.length, k * M);
        assert.ok(
          metrics.samples.every((s) =>
            s.name === "batch_corr_top_feature_info" || !("feature" in s.labels)
          ),
          "feature names only in the info metric",
        );
        for (let m = 0; m < M; m++) {
          const n = rows.map((row) => row[F + m]!);
          const ranked = Array.from({ length: F }, (_, j) => ({
            feature: `f${j}`,
            r: Math.abs(pearson(rows.map((row) => row[j]!), n)),
          })).sort((a, b) => b.r - a.r).slice(0, k);
          ranked.forEach((expected, i) => {
            const labels = { confound: `c${m}`, rank: String(i + 1) };
            const value = top.find((s) =>
              s.labels.confound === labels.confound && s.labels.rank === labels.rank
            )!
              .value;
            assert.ok(
              Math.abs(value - expected.r) < 1e-12,
              `${labels.confound} #${i + 1}: ${value} vs ${expected.r}`,
            );
            assert.equal(
              info.find((s) =>
                s.labels.confound === labels.confound && s.labels.rank === labels.rank
              )!.labels
                .feature,
              expected.feature,
            );
          });
        }
        // SIGTERM ends --serve-after early, with exit code 0.
        const stopping = Date.now();
        monitor.signal("SIGTERM");
        assert.equal(await monitor.exited, 0, monitor.stderr);
        assert.ok(Date.now() - stopping < 10_000);
      } finally {
        await monitor.stop();
      }
    },
  );

  test(
    "a fatal input error turns /healthz to 503 during --serve-after, then exits 2 with the error",
    {
      timeout: 60_000,
    },
    async () => {
      const lines = [...driftDataLines({
        batches: 8,
        batchSize: 30,
        features: 3,
        driftBatch: 4,
        strength: 0.5,
        seed: 2,
      }, "csv")];
      lines.splice(150, 0, "0.1,oops,0.3,0.4\n"); // line 151
      const file = join(dir, "broken.csv");
      writeFileSync(file, lines.join(""));
      const monitor = cli([
        ..."monitor".split(" "),
        file,
        ..."-c c -b 30 --format ndjson --metrics 127.0.0.1:0 --serve-after 30".split(" "),
      ]);
      try {
        const url = await serviceUrl(monitor);
        await monitor.stderrMatch(/the input failed .*\/healthz answers 503/, "the failure note");
        const health = await fetch(`${url}/healthz`);
        assert.equal(health.status, 503);
        const body = await health.json();
        assert.equal(body.status, "failed");
        assert.match(body.error, /line 151/);
        const metrics = await scrape(url);
        assert.equal(
          samplesOf(metrics, "batch_corr_input_state").find((s) => s.labels.state === "failed")
            ?.value,
          1,
        );
        assert.equal(valueOf(metrics, "batch_corr_batches_total"), records(monitor).length);
        assert.ok(records(monitor).length >= 4, "the batches before the bad row were served");
        monitor.signal("SIGTERM");
        assert.equal(await monitor.exited, 2, "the error keeps its exit code");
        assert.match(monitor.stderr, /batch-corr: .*line 151.*\n.*stopped with rows read/s);
      } finally {
        await monitor.stop();
      }
    },
  );

  for (const variant of ["SIGTERM with --metrics and --report", "SIGINT without --metrics"]) {
    test(
      `${variant}: the input stops, the batch in hand is finished, the summary and report are written, exit 0`,
      {
        timeout: 60_000,
      },
      async () => {
        const withMetrics = variant.startsWith("SIGTERM");
        const report = join(dir, `stopped-${withMetrics}.html`);
        const endFile = join(dir, `never-${withMetrics}`);
        const run: Pipeline = pipeline(
          ["--batches", "200", "--batch-size", "25", "--features", "3"],
          ["--first", "101", "--lines", "10", "--every-ms", "40", "--end-file", endFile],
          [
            ..."-c c -b 25 --format ndjson --report".split(" "),
            report,
            ...(withMetrics ? ["--metrics", "127.0.0.1:0"] : []),
          ],
        );
        try {
          const url = withMetrics ? await serviceUrl(run.monitor) : undefined;
          await waitFor(() => records(run.monitor).length >= 6, "a few batches", 30_000);
          if (url !== undefined) {
            assert.equal((await fetch(`${url}/healthz`)).status, 200);
          }
          run.monitor.signal(withMetrics ? "SIGTERM" : "SIGINT");
          const stopped = Date.now();
          assert.equal(await run.monitor.exited, 0, run.monitor.stderr);
          assert.ok(Date.now() - stopped < 10_000, "the open input does not hold the process");
          assert.ok(run.throttle.running, "the producer still holds the pipe open");
          const all = records(run.monitor);
          const counts = summaryCounts(run.monitor.stderr);
          assert.match(
            run.monitor.stderr,
            new RegExp(`stopped by ${withMetrics ? "SIGTERM" : "SIGINT"}`),
          );
          assert.equal(
            all.reduce((sum, r) => sum + r.batchSize, 0),
            counts.used,
            "every row taken is in a batch",
          );
          assert.ok(all.slice(0, -1).every((r) => r.batchSize === 25));
          assert.ok(counts.read < 200 * 25, "the input was not read to its end");
          assert.ok(existsSync(report));
          const html = readFileSync(report, "utf8");
          assert.match(html, new RegExp(`<dt>batches</dt><dd>${all.length}</dd>`));
          if (url !== undefined) await assert.rejects(fetch(`${url}/healthz`), "closed at exit");
        } finally {
          await run.stop();
        }
      },
    );
  }
});

function pearson(x: number[], y: number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i]! - mx) * (y[i]! - my);
    sxx += (x[i]! - mx) ** 2;
    syy += (y[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}
