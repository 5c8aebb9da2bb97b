import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CorrelationAccumulator } from "../../../src/accumulator/correlation_accumulator.ts";
import { main } from "../../../src/cli/main.ts";
import {
  driftColumns,
  driftDataLines,
  generateDriftRows,
} from "../../../src/cli/input/drift_data.ts";
import { mulberry32 } from "../../../src/cli/input/mulberry32.ts";
import {
  type DriftBatchRecord,
  DriftMetrics,
  INPUT_STATES,
} from "../../../src/cli/service/drift_metrics.ts";
import {
  findExecutable,
  parseExposition,
  promtool,
  samplesOf,
  skipWithout,
  sleep,
  valueOf,
} from "./_support.ts";

const PROMTOOL = findExecutable("promtool");
const COUNTERS = [
  "batch_corr_batches_total",
  "batch_corr_batches_skipped_total",
  "batch_corr_samples_total",
  "batch_corr_rows_read_total",
  "batch_corr_rows_rejected_total",
];

interface NdjsonRecord extends DriftBatchRecord {
  alert: boolean;
}

const FEATURES = 6;
const DATA = {
  batches: 14,
  batchSize: 30,
  features: FEATURES,
  driftBatch: 7,
  strength: 0.8,
  seed: 5,
};
let records: NdjsonRecord[] = [];
let rowTotals = { read: 0, rejected: 0 };

/** The same as null → NaN, for comparing with what the metrics show. */
function num(value: number | null | undefined): number {
  return value === null || value === undefined ? Number.NaN : value;
}

function assertSame(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, `${what} has no sample`);
  assert.ok(Object.is(actual, expected), `${what}: ${actual} !== ${expected}`);
}

before(async () => {
  // A CLI run: the drift data, two bad rows, and two rows at the end that make
  // a last batch too small for tol auto (skipped).
  const dir = mkdtempSync(join(tmpdir(), "batch-corr-metrics-"));
  try {
    const lines = [...driftDataLines(DATA, "csv")];
    lines.splice(40, 0, "oops,1,2,3,4,5,6\n");
    lines.splice(100, 0, `${"1,".repeat(FEATURES)}not-a-number\n`);
    lines.push(`${"0.5,".repeat(FEATURES)}1\n`, `${"0.25,".repeat(FEATURES)}2\n`);
    const path = join(dir, "drift.csv");
    writeFileSync(path, lines.join(""));
    let stdout = "";
    let stderr = "";
    const io = {
      stdout: { write: (text: string) => void (stdout += text) },
      stderr: { write: (text: string) => void (stderr += text) },
      stdin: () => [],
      stderrIsTty: false,
    };
    const args = [
      "monitor",
      path,
      "-c",
      "c",
      "-b",
      "30",
      "-w",
      "3",
      "--alert",
      "0.15",
      "--format",
      "ndjson",
      "--on-bad-row",
      "skip",
    ];
    assert.equal(await main(args, io), 3, stderr);
    records = stdout.trim().split("\n").map((line) => JSON.parse(line));
    const totals = /rows read (\d+), used \d+, rejected (\d+)/.exec(stderr);
    assert.ok(totals, stderr);
    rowTotals = { read: Number(totals[1]), rejected: Number(totals[2]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("DriftMetrics", () => {
  test("shows after every batch exactly the values of the monitor's NDJSON record for it", () => {
    assert.equal(records.length, DATA.batches + 1);
    assert.ok(records.at(-1)!.skipped, "the last, two-row batch is skipped");
    const metrics = new DriftMetrics({
      features: driftColumns(FEATURES).slice(0, -1),
      confounds: ["c"],
      alertLevel: 0.15,
    });
    let samples = 0;
    let skipped = 0;
    records.forEach((record, i) => {
      metrics.recordBatch(record, { alert: record.alert });
      const m = parseExposition(metrics.render());
      assertSame(valueOf(m, "batch_corr_batch_loss"), num(record.loss), `batch loss ${i}`);
      assertSame(
        valueOf(m, "batch_corr_running_loss"),
        num(record.running.loss),
        `running loss ${i}`,
      );
      assertSame(
        valueOf(m, "batch_corr_window_loss"),
        num(record.window!.loss),
        `window loss ${i}`,
      );
      assertSame(valueOf(m, "batch_corr_tol"), num(record.tol), `tol ${i}`);
      assertSame(valueOf(m, "batch_corr_running_tol"), num(record.running.tol), `running tol ${i}`);
      assertSame(valueOf(m, "batch_corr_window_tol"), num(record.window!.tol), `window tol ${i}`);
      assertSame(
        valueOf(m, "batch_corr_window_effective_samples"),
        num(record.window!.effectiveCount),
        `window samples ${i}`,
      );
      assertSame(valueOf(m, "batch_corr_alert"), record.alert ? 1 : 0, `alert ${i}`);
      assertSame(valueOf(m, "batch_corr_running_samples"), record.count, `running samples ${i}`);
      if (record.skipped) skipped++;
      else samples += record.batchSize!;
      assertSame(valueOf(m, "batch_corr_batches_total"), i + 1, `batches ${i}`);
      assertSame(valueOf(m, "batch_corr_batches_skipped_total"), skipped, `skipped ${i}`);
      assertSame(valueOf(m, "batch_corr_samples_total"), samples, `samples ${i}`);
      assertSame(valueOf(m, "batch_corr_alert_level"), 0.15, "alert level");
    });
    // The skipped batch: no loss of its own, the running view unchanged, no alert.
    const m = parseExposition(metrics.render());
    assert.ok(Number.isNaN(valueOf(m, "batch_corr_batch_loss")));
    assertSame(
      valueOf(m, "batch_corr_running_loss"),
      records.at(-2)!.running.loss!,
      "running loss after the skipped batch",
    );
    assertSame(valueOf(m, "batch_corr_samples_total"), DATA.batches * DATA.batchSize, "samples");
    // The drift shows: alerts fired after the drift batch only.
    assert.ok(
      records.some((r) => r.alert) && records.slice(0, DATA.driftBatch).every((r) => !r.alert),
    );
    metrics.recordRows(rowTotals);
    const end = parseExposition(metrics.render());
    assertSame(valueOf(end, "batch_corr_rows_read_total"), rowTotals.read, "rows read");
    assertSame(valueOf(end, "batch_corr_rows_rejected_total"), 2, "rows rejected");
    assert.equal(rowTotals.read, DATA.batches * DATA.batchSize + 4);
  });

  test("ranks the top-k running |r| per confound as an independent sort of the correlations does", () => {
    const F = 12;
    const names = Array.from({ length: F }, (_, i) => `feature ${i}`);
    const rows = [
      ...generateDriftRows({
        batches: 4,
        batchSize: 40,
        features: F,
        driftBatch: 0,
        strength: 0.7,
        seed: 9,
      }),
    ];
    const accumulator = new CorrelationAccumulator();
    // Two confounds: c, and c² (a different pattern of correlations).
    accumulator.update(rows.map((r) => r.slice(0, F)), [
      rows.map((r) => r[F]!),
      rows.map((r) => r[F]! ** 2),
    ]);
    const correlations = accumulator.correlations({ tol: 0, abs: false }).data;
    const metrics = new DriftMetrics({
      features: names,
      confounds: ["c", "c squared"],
      top: 4,
      correlations: () => correlations,
    });
    metrics.recordBatch({
      index: 0,
      batchSize: 160,
      count: 160,
      tol: 0,
      loss: 0,
      running: { tol: 0, loss: 0 },
    }, { alert: false });
    const m = parseExposition(metrics.render());
    for (const [column, confound] of ["c", "c squared"].entries()) {
      const expected = names.map((name, f) => ({
        name,
        r: Math.abs(correlations[f * 2 + column]!),
      })).sort((a, b) => b.r - a.r).slice(0, 4);
      const top = samplesOf(m, "batch_corr_top_abs_correlation").filter((s) =>
        s.labels.confound === confound
      );
      const info = samplesOf(m, "batch_corr_top_feature_info").filter((s) =>
        s.labels.confound === confound
      );
      assert.deepEqual(
        top.map((s) => [s.labels.rank, s.value]),
        expected.map((e, i) => [String(i + 1), e.r]),
      );
      assert.deepEqual(
        info.map((s) => [s.labels.rank, s.labels.feature, s.value]),
        expected.map((e, i) => [String(i + 1), e.name, 1]),
      );
    }
    // The injected drift: the first half of the features lead for c.
    const leaders = samplesOf(m, "batch_corr_top_feature_info").filter((s) =>
      s.labels.confound === "c"
    ).map((s) => s.labels.feature);
    assert.ok(leaders.every((name) => Number(name!.split(" ")[1]) < F / 2), leaders.join(", "));
  });

  test("keeps at most k × M top-correlation series with 10,000 features", () => {
    const F = 10_000;
    const M = 3;
    const k = 5;
    const random = mulberry32(11);
    const correlations = Float64Array.from({ length: F * M }, () => random() * 2 - 1);
    let calls = 0;
    const metrics = new DriftMetrics({
      features: Array.from({ length: F }, (_, f) => `f${f}`),
      confounds: ["a", "b", "c"],
      top: k,
      correlations: () => (calls++, correlations),
    });
    for (let i = 0; i < 3; i++) {
      metrics.recordBatch({
        index: i,
        batchSize: 10,
        count: 10 * (i + 1),
        tol: 0,
        loss: 0.1,
        running: { tol: 0, loss: 0.1 },
      }, { alert: false });
    }
    const text = metrics.render();
    const m = parseExposition(text);
    assert.equal(samplesOf(m, "batch_corr_top_abs_correlation").length, k * M);
    assert.equal(samplesOf(m, "batch_corr_top_feature_info").length, k * M);
    // No family grows with F: the whole exposition stays small.
    const perFamily = new Map<string, number>();
    for (const s of m.samples) perFamily.set(s.name, (perFamily.get(s.name) ?? 0) + 1);
    assert.ok(Math.max(...perFamily.values()) <= k * M, JSON.stringify([...perFamily]));
    assert.ok(text.length < 10_000, `${text.length} bytes`);
    for (let column = 0; column < M; column++) {
      let best = 0;
      for (let f = 0; f < F; f++) best = Math.max(best, Math.abs(correlations[f * M + column]!));
      const first = samplesOf(m, "batch_corr_top_abs_correlation").find((s) =>
        s.labels.rank === "1" && s.labels.confound === "abc"[column]
      );
      assert.equal(first?.value, best);
    }
    metrics.render();
    assert.equal(calls, 1, "the ranking is computed once per batch, not per scrape");
  });

  test("counters only go up, whatever mix of batches, skipped batches and rows is fed", () => {
    const random = mulberry32(3);
    const metrics = new DriftMetrics({ features: ["f"], confounds: ["c"] });
    let previous = new Map(COUNTERS.map((name) => [name, 0]));
    let rows = { read: 0, rejected: 0 };
    for (let i = 0; i < 200; i++) {
      const skipped = random() < 0.2;
      rows = {
        read: rows.read + Math.floor(random() * 40),
        rejected: rows.rejected + (random() < 0.3 ? 1 : 0),
      };
      if (random() < 0.3) {
        metrics.recordRows(rows);
      } else {
        const record: DriftBatchRecord = {
          index: i,
          batchSize: skipped ? NaN : 1 + Math.floor(random() * 50),
          count: i,
          tol: skipped ? NaN : 0.1,
          loss: skipped ? NaN : random(),
          running: { tol: 0.1, loss: random() },
          ...(skipped ? { skipped: { reason: "bad batch" } } : {}),
        };
        metrics.recordBatch(record, { alert: random() < 0.5, rows });
      }
      const m = parseExposition(metrics.render());
      const now = new Map(COUNTERS.map((name) => [name, valueOf(m, name)!]));
      for (const name of COUNTERS) {
        assert.ok(now.get(name)! >= previous.get(name)!, `${name} went down at step ${i}`);
      }
      assert.equal(now.get("batch_corr_rows_read_total"), rows.read);
      previous = now;
    }
    // A total that goes down is refused and changes nothing.
    assert.throws(
      () => metrics.recordRows({ read: rows.read - 1, rejected: rows.rejected }),
      /rows\.read must not decrease/,
    );
    assert.throws(
      () =>
        metrics.recordBatch({
          index: 1000,
          batchSize: 1,
          count: 1,
          tol: 0,
          loss: 0,
          running: { tol: 0, loss: 0 },
        }, { alert: false, rows: { read: 0, rejected: 0 } }),
      RangeError,
    );
    assert.equal(
      valueOf(parseExposition(metrics.render()), "batch_corr_rows_read_total"),
      rows.read,
    );
  });

  test("shows no loss before the first batch and counters at zero", () => {
    const m = parseExposition(new DriftMetrics({ features: ["f"], confounds: ["c"] }).render());
    for (
      const name of [
        "batch_corr_batch_loss",
        "batch_corr_running_loss",
        "batch_corr_window_loss",
        "batch_corr_alert",
        "batch_corr_alert_level",
      ]
    ) {
      assert.equal(valueOf(m, name), undefined, name);
      assert.equal(m.type.get(name), "gauge");
    }
    for (const name of COUNTERS) {
      assert.equal(valueOf(m, name), 0, name);
      assert.equal(m.type.get(name), "counter");
    }
    assert.equal(samplesOf(m, "batch_corr_top_abs_correlation").length, 0);
  });

  test("names given as functions arrive later: no top-k series and no F or M before them, then the ranking of the names given", () => {
    let names = { features: [] as string[], confounds: [] as string[] };
    const metrics = new DriftMetrics({
      features: () => names.features,
      confounds: () => names.confounds,
      top: 1,
      correlations: () => new Float64Array([0.2, -0.7]),
    });
    const record = (index: number, count: number): DriftBatchRecord => ({
      index,
      batchSize: 10,
      count,
      tol: 0,
      loss: 0.1,
      running: { tol: 0, loss: 0.1 },
    });
    let m = parseExposition(metrics.render());
    for (const name of ["batch_corr_features", "batch_corr_confounds"]) {
      assert.equal(valueOf(m, name), undefined, name);
    }
    metrics.recordBatch(record(0, 10), { alert: false });
    m = parseExposition(metrics.render());
    assert.equal(samplesOf(m, "batch_corr_top_abs_correlation").length, 0, "no names yet");
    names = { features: ["f0", "f1"], confounds: ["age"] };
    m = parseExposition(metrics.render());
    assert.deepEqual(
      [valueOf(m, "batch_corr_features"), valueOf(m, "batch_corr_confounds")],
      [2, 1],
    );
    assert.deepEqual(samplesOf(m, "batch_corr_top_feature_info").map((s) => s.labels.feature), [
      "f1",
    ]);
    assert.equal(samplesOf(m, "batch_corr_top_abs_correlation")[0]!.value, 0.7);
    assert.throws(
      () => new DriftMetrics({ features: ["f"], confounds: () => ["c"] }),
      /options\.features must be a function returning the feature names/,
    );
  });

  test("totals given with each record set the counters (an aggregator's committed batches) and may not decrease", () => {
    const metrics = new DriftMetrics({ features: ["f"], confounds: ["c"] });
    const record = (index: number, count: number, skipped = false): DriftBatchRecord => ({
      index,
      batchSize: skipped ? Number.NaN : 50,
      count,
      tol: 0,
      loss: 0.1,
      running: { tol: 0, loss: 0.1 },
      ...(skipped ? { skipped: { reason: "dead-lettered" } } : {}),
    });
    metrics.recordBatch(record(0, 200), {
      alert: false,
      totals: { batches: 8, skipped: 0, samples: 200 },
    });
    metrics.recordBatch(record(1, 200, true), {
      alert: false,
      totals: { batches: 8, skipped: 3, samples: 200 },
    });
    metrics.recordBatch(record(2, 250), {
      alert: false,
      totals: { batches: 10, skipped: 3, samples: 250 },
    });
    const m = parseExposition(metrics.render());
    assert.deepEqual(
      [
        valueOf(m, "batch_corr_batches_total"),
        valueOf(m, "batch_corr_batches_skipped_total"),
        valueOf(m, "batch_corr_samples_total"),
      ],
      [10, 3, 250],
    );
    assert.equal(metrics.status().batches, 10, "/healthz counts the same batches");
    assert.throws(
      () =>
        metrics.recordBatch(record(3, 250), {
          alert: false,
          totals: { batches: 9, skipped: 3, samples: 250 },
        }),
      /options\.totals\.batches must not decrease \(it is a running total, 10 so far\): current value is 9/,
    );
  });

  test("reports the input state: waiting, flowing, idle, ended, failed", async () => {
    const metrics = new DriftMetrics({ features: ["f"], confounds: ["c"], idleAfterMs: 60 });
    const state = () =>
      samplesOf(parseExposition(metrics.render()), "batch_corr_input_state").filter((s) =>
        s.value === 1
      ).map((s) => s.labels.state);
    assert.equal(
      samplesOf(parseExposition(metrics.render()), "batch_corr_input_state").length,
      INPUT_STATES.length,
    );
    assert.deepEqual(state(), ["waiting"]);
    metrics.recordRows({ read: 5, rejected: 0 });
    assert.deepEqual(state(), ["flowing"]);
    await sleep(120);
    assert.deepEqual(state(), ["idle"]);
    assert.equal(metrics.status().state, "idle");
    metrics.endInput();
    assert.deepEqual(state(), ["ended"]);
    metrics.failInput(new Error("stdin closed mid-record"));
    assert.deepEqual(state(), ["failed"]);
    assert.equal(metrics.status().error, "stdin closed mid-record");
  });

  test("keeps hostile and repeated confound names apart, escaped, and promtool accepts the output", () => {
    const confounds = ['age "years"', "site\\id", "multi\nline", 'age "years"'];
    const features = ['f"0"', "f\\1", "f\n2"];
    const metrics = new DriftMetrics({
      features,
      confounds,
      top: 2,
      correlations: () =>
        new Float64Array([0.1, 0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8, 0.9, 0.05, 0.15, 0.25]),
    });
    metrics.recordBatch({
      index: 0,
      batchSize: 5,
      count: 5,
      tol: 0,
      loss: 1,
      running: { tol: 0, loss: 1 },
    }, { alert: false });
    const text = metrics.render();
    const m = parseExposition(text);
    const labels = [
      ...new Set(samplesOf(m, "batch_corr_top_abs_correlation").map((s) => s.labels.confound)),
    ];
    assert.deepEqual(labels, ['age "years"', "site\\id", "multi\nline", 'age "years"#2']);
    assert.deepEqual(
      samplesOf(m, "batch_corr_top_feature_info").filter((s) => s.labels.confound === "site\\id")
        .map((s) => s.labels.feature),
      ["f\\1", 'f"0"'],
    );
    if (PROMTOOL) {
      const result = promtool(PROMTOOL, ["check", "metrics"], text);
      assert.equal(result.status, 0, result.output);
    }
  });

  test("promtool check metrics accepts the full metric set", {
    skip: skipWithout("promtool", PROMTOOL, "apt-get install prometheus"),
  }, () => {
    assert.ok(PROMTOOL, "promtool must be installed under CI (apt-get install prometheus)");
    const metrics = new DriftMetrics({
      features: ["a", "b"],
      confounds: ["c"],
      alertLevel: 0.3,
      correlations: () => new Float64Array([0.5, -0.25]),
    });
    for (const [i, record] of records.entries()) {
      metrics.recordBatch(record, {
        alert: record.alert,
        rows: { read: 30 * (i + 1), rejected: i },
      });
    }
    const result = promtool(PROMTOOL!, ["check", "metrics"], metrics.render());
    assert.equal(result.status, 0, result.output);
    assert.equal(result.output.trim(), "", "no lint findings");
  });

  test("refuses bad options and records with the rule and the value seen", () => {
    assert.throws(
      () => new DriftMetrics({ features: ["f"], confounds: ["c"], top: 0 }),
      /options\.top must be an integer from 1 to 1000: current value is 0/,
    );
    assert.throws(
      () => new DriftMetrics({ features: "f" as unknown as string[], confounds: ["c"] }),
      TypeError,
    );
    assert.throws(() => new DriftMetrics({ features: ["f"], confounds: [] }), RangeError);
    assert.throws(
      () => new DriftMetrics({ features: ["f"], confounds: ["c"], colour: 1 } as never),
      /must only have known keys/,
    );
    const metrics = new DriftMetrics({
      features: ["f"],
      confounds: ["c"],
      correlations: () => new Float64Array(3),
    });
    assert.throws(
      () =>
        metrics.recordBatch({
          index: 0,
          batchSize: 1,
          count: 1,
          tol: 0,
          loss: "high" as unknown as number,
          running: { tol: 0, loss: 0 },
        }, { alert: false }),
      /record\.loss must be a number \(null or NaN when there is none\): current value is "high"/,
    );
    assert.throws(
      () =>
        metrics.recordBatch({
          index: -1,
          batchSize: 1,
          count: 1,
          tol: 0,
          loss: 0,
          running: { tol: 0, loss: 0 },
        }, { alert: false }),
      RangeError,
    );
    metrics.recordBatch({
      index: 0,
      batchSize: 1,
      count: 1,
      tol: 0,
      loss: 0,
      running: { tol: 0, loss: 0 },
    }, { alert: false });
    assert.throws(
      () =>
        metrics.recordBatch({
          index: 0,
          batchSize: 1,
          count: 2,
          tol: 0,
          loss: 0,
          running: { tol: 0, loss: 0 },
        }, { alert: false }),
      /record\.index must increase/,
    );
    assert.throws(
      () => metrics.render(),
      /must return a Float64Array of F × M = 1 values: current value is of length 3/,
    );
  });
});
