/**
 * `monitor` on Arrow IPC and Parquet input, and its Arrow IPC output: the
 * same batches as the CSV twin read independently (tests/arrow/columnar_fixtures.ts),
 * and a clear refusal for what a columnar input cannot do.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import type { BatchResult } from "../../../mod.ts";
import { runCli } from "../_run_cli.ts";
import {
  fixtureBytes,
  numericRows,
  readCsvFixture,
  referenceResults,
} from "../../arrow/columnar_fixtures.ts";

const DIR = "tests/fixtures/columnar";
const FEATURES = ["f_a", "f_b", "f_c", "f_d", "f_e"];
const CONFOUNDS = ["motion", "age"];
const BATCH = 50;

interface NdjsonBatch {
  index: number;
  firstLine: number;
  batchSize: number;
  count: number;
  loss: number;
  running: { loss: number };
  correlations: { batch: { data: number[] }; running: { data: number[] } };
}

function monitorArgs(file: string, ...extra: string[]): string[] {
  return [
    "monitor",
    `${DIR}/${file}`,
    "--confounds",
    CONFOUNDS.join(","),
    "--batch-size",
    String(BATCH),
    "--format",
    "ndjson",
    "--correlations",
    ...extra,
  ];
}

function parseBatches(text: string): NdjsonBatch[] {
  return text.trim().split("\n").map((line) => JSON.parse(line) as NdjsonBatch);
}

async function reference(): Promise<BatchResult[]> {
  const { rows } = numericRows(readCsvFixture("drift.csv"), [...FEATURES, ...CONFOUNDS]);
  // The monitor's defaults: --tol auto, --tol-sig 0.1, --abs, --scalarisation mean, --nu 1.
  return await referenceResults(rows, FEATURES.length, BATCH, {
    tol: "auto",
    tolSig: 0.1,
    abs: true,
    scalarisation: "mean",
    nu: 1,
  });
}

function assertSameAsReference(batches: NdjsonBatch[], expected: BatchResult[]): void {
  assert.equal(batches.length, expected.length);
  batches.forEach((batch, i) => {
    const want = expected[i]!;
    assert.equal(batch.index, i);
    assert.equal(batch.firstLine, i * BATCH + 1, "columnar rows are numbered from 1");
    assert.equal(batch.batchSize, want.batchSize);
    assert.equal(batch.count, want.count);
    assert.equal(batch.loss, want.loss);
    assert.equal(batch.running.loss, want.running.loss);
    assert.deepEqual(batch.correlations.batch.data, Array.from(want.correlations!.data));
    assert.deepEqual(
      batch.correlations.running.data,
      Array.from(want.running.correlations!.data),
    );
  });
}

describe("monitor on columnar input", () => {
  for (const file of ["drift.arrow", "drift.arrows", "drift.parquet"]) {
    test(`reads ${file} by its extension into the batches of its CSV twin, bit for bit`, async () => {
      const run = await runCli(monitorArgs(file));
      assert.equal(run.code, 0, run.stderr);
      assertSameAsReference(parseBatches(run.text), await reference());
      assert.match(run.stderr, /rows read 400, used 400, rejected 0/);
    });
  }

  test("reads an Arrow IPC stream piped to standard input with --input-format arrow", async () => {
    const run = await runCli(
      ["monitor", "-", ...monitorArgs("x").slice(2), "--input-format", "arrow"],
      { stdin: fixtureBytes("drift.arrows") },
    );
    assert.equal(run.code, 0, run.stderr);
    assertSameAsReference(parseBatches(run.text), await reference());
  });

  test("gives the CSV path's losses for the same rows, with CSV lines counted after the header", async () => {
    const csv = parseBatches((await runCli(monitorArgs("drift.csv"))).text);
    const parquet = parseBatches((await runCli(monitorArgs("drift.parquet"))).text);
    assert.equal(csv.length, parquet.length);
    csv.forEach((batch, i) => {
      assert.equal(batch.firstLine, parquet[i]!.firstLine + 1);
      assert.deepEqual({ ...batch, firstLine: 0 }, { ...parquet[i]!, firstLine: 0 });
    });
  });

  test("skips rows with a null under --on-bad-row skip, as it does for the CSV twin", async () => {
    const args = (file: string) => [
      "monitor",
      `${DIR}/${file}`,
      "--confounds",
      "motion",
      "--batch-size",
      "10",
      "--format",
      "ndjson",
      "--on-bad-row",
      "skip",
    ];
    const parquet = await runCli(args("nulls.parquet"));
    const csv = await runCli(args("nulls.csv"));
    assert.equal(parquet.code, 0, parquet.stderr);
    assert.match(parquet.stderr, /rows read 40, used 35, rejected 5/);
    const losses = (text: string) => parseBatches(text).map((b) => [b.loss, b.running.loss]);
    assert.deepEqual(losses(parquet.text), losses(csv.text));
  });

  test("stops with exit 2 naming the column and row of a null under the default --on-bad-row error", async () => {
    const run = await runCli(["monitor", `${DIR}/nulls.parquet`, "--confounds", "motion"]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /column "x" \(DOUBLE\) must hold no null.*current value is null at row 4/,
    );
  });
});

describe("monitor --format arrow", () => {
  test("writes one Arrow IPC row per batch to --output, with the NDJSON output's values", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-arrow-out-"));
    try {
      const out = join(dir, "batches.arrows");
      const args = monitorArgs("drift.parquet").filter((a) => a !== "--correlations");
      const written = await runCli([...args.slice(0, -2), "--format", "arrow", "--output", out]);
      assert.equal(written.code, 0, written.stderr);
      const table = tableFromIPC(readFileSync(out));
      const expected = await reference();
      assert.equal(table.numRows, expected.length);
      const loss = table.getChild("loss")!.toArray() as Float64Array;
      const running = table.getChild("runningLoss")!.toArray() as Float64Array;
      const first = Array.from(table.getChild("firstLine")!.toArray() as BigInt64Array, Number);
      expected.forEach((want, i) => {
        assert.equal(loss[i], want.loss);
        assert.equal(running[i], want.running.loss);
        assert.equal(first[i], i * BATCH + 1);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("refuses --output without --format arrow", async () => {
    const run = await runCli(["monitor", `${DIR}/drift.csv`, "-c", "motion", "-o", "x.arrows"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--output "x\.arrows" must come with --format arrow/);
  });
});

describe("monitor refuses what a columnar input cannot do", () => {
  test("Parquet on standard input, since its footer comes last", async () => {
    const run = await runCli(["monitor", "-", "--input-format", "parquet", "-c", "motion"], {
      stdin: fixtureBytes("drift.parquet"),
    });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /the input must be a file path .*current value is "-"/);
  });

  test("--date-column on a Parquet file", async () => {
    const run = await runCli([
      "monitor",
      `${DIR}/drift.parquet`,
      "-c",
      "motion",
      "--date-column",
      "day",
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--date-column must be absent.*current value is "day"/);
  });

  test("a confound the file does not have, listing the file's columns", async () => {
    const run = await runCli(["monitor", `${DIR}/drift.arrow`, "-c", "nope"]);
    assert.equal(run.code, 2);
    assert.match(
      run.stderr,
      /--confounds must name a column of the input \(f_a, .*age\): current value is "nope"/,
    );
  });

  test("a column named twice, or as both a feature and a confound, exits 2 with the CSV path's message", async () => {
    const cases: [string[], string][] = [
      [["-c", "motion,motion"], '"motion" twice'],
      [["-c", "motion", "-f", "f_a,motion"], '"motion" as both a feature and a confound'],
      [["-c", "age", "-f", "f_b,f_b"], '"f_b" twice'],
    ];
    for (const file of ["drift.parquet", "drift.arrow", "drift.arrows", "drift.csv"]) {
      for (const [flags, named] of cases) {
        const run = await runCli(["monitor", `${DIR}/${file}`, ...flags]);
        assert.equal(run.code, 2, `${file} ${flags.join(" ")}: ${run.stderr}`);
        assert.ok(
          run.stderr.includes(
            `Cannot select the columns as each must be named once among --features and --confounds: current value names ${named}`,
          ),
          run.stderr,
        );
      }
    }
  });

  test("a CSV file read as Parquet, and a truncated Arrow stream", async () => {
    const csv = await runCli([
      "monitor",
      `${DIR}/drift.csv`,
      "--input-format",
      "parquet",
      "-c",
      "motion",
    ]);
    assert.equal(csv.code, 2);
    assert.match(csv.stderr, /must be a complete Parquet file/);
    const bytes = fixtureBytes("drift.arrows");
    const cut = await runCli(["monitor", "-", "--input-format", "arrow", "-c", "motion"], {
      stdin: bytes.subarray(0, 5000),
    });
    assert.equal(cut.code, 2);
    assert.match(cut.stderr, /must be a complete Arrow IPC stream or file.*truncated or corrupt/);
  });

  test("a regular Arrow file of float columns (read by position): whole, cut inside a message, cut before its end-of-stream marker, and a cut IPC file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-flat-cli-"));
    try {
      const flags = ["-c", "motion", "-f", "a,b", "-b", "30", "--format", "ndjson"];
      const whole = await runCli(["monitor", `${DIR}/flat.arrows`, ...flags]);
      assert.equal(whole.code, 0, whole.stderr);
      const { rows } = numericRows(readCsvFixture("flat_arrow.csv"), ["a", "b", "motion"]);
      const expected = await referenceResults(rows, 2, 30, { tol: "auto", tolSig: 0.1, abs: true });
      assert.deepEqual(parseBatches(whole.text).map((b) => b.loss), expected.map((r) => r.loss));
      const stream = fixtureBytes("flat.arrows");
      const cases: [string, Uint8Array, RegExp][] = [
        [
          "inside.arrows",
          stream.subarray(0, 3000),
          /must be a complete Arrow IPC stream or file: current value could not be decoded at record batch \d+ .*truncated or corrupt/,
        ],
        [
          "unended.arrows",
          stream.subarray(0, stream.length - 8),
          /an IPC stream must end with its end-of-stream marker \(0xFFFFFFFF 0x00000000\): current input ends without it/,
        ],
        [
          "cut.arrow",
          fixtureBytes("flat.arrow").subarray(0, 3000),
          /current value is an Arrow IPC file without its end/,
        ],
      ];
      for (const [name, bytes, pattern] of cases) {
        const path = join(dir, name);
        writeFileSync(path, bytes);
        const run = await runCli(["monitor", path, ...flags]);
        assert.equal(run.code, 2, `${name}: ${run.stderr}`);
        assert.match(run.stderr, pattern, name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("publish on Arrow input, which reads CSV or NDJSON text only", async () => {
    const run = await runCli([
      "publish",
      `${DIR}/drift.arrow`,
      "-c",
      "motion",
      "--redis",
      "redis://127.0.0.1:1",
      "--stream",
      "s",
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /CSV or NDJSON/);
  });
});
