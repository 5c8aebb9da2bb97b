import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runSummary } from "../../../src/cli/output/run_summary.ts";
import { batchTableRow } from "../../../src/cli/output/batch_table.ts";
import { BadRowLog } from "../../../src/cli/input/bad_row_log.ts";
import { SkippedBatches } from "../../../src/cli/output/skipped_batches.ts";
import type { BatchResult } from "../../../src/stream/batch_result.ts";

const ESC = "\u001b]2;x\u0007\u202e";
// deno-lint-ignore no-control-regex -- finding raw control characters is the point
const RAW = /[\u001b\u0007\u202e]/;

function facts(skipped: SkippedBatches, source = "data.csv") {
  return {
    source,
    batches: skipped.count,
    rows: 2 * skipped.count,
    last: undefined,
    counts: { read: 2 * skipped.count, used: 2 * skipped.count, rejected: 0 },
    badRows: new BadRowLog(),
    skippedBatches: skipped,
  };
}

describe("runSummary()", () => {
  test("lists 20 skipped batches and counts the rest exactly, whatever their number", () => {
    const skipped = new SkippedBatches();
    for (let index = 0; index < 100_000; index++) skipped.add({ index, reason: "too small" });
    const lines = runSummary(facts(skipped));
    const line = lines.find((text) => text.startsWith("skipped "))!;
    assert.match(
      line,
      /^skipped 100000 batch\(es\): batch 0: too small; .*batch 19: too small; … and 99980 more$/,
    );
    assert.equal(line.split("; ").length, 21);
    assert.ok(lines.join("\n").length < 1000);
  });

  test("lists every skipped batch when there are at most 20, as before", () => {
    const skipped = new SkippedBatches();
    skipped.add({ index: 3, reason: "too small" });
    assert.equal(runSummary(facts(skipped)).at(-1), "skipped 1 batch(es): batch 3: too small");
  });

  test("escapes the source's name and the skip reasons", () => {
    const skipped = new SkippedBatches();
    skipped.add({ index: 0, reason: `bad ${ESC}` });
    const text = runSummary(facts(skipped, `in${ESC}.csv`)).join("\n");
    assert.doesNotMatch(text, RAW);
    assert.match(text, /from in\\u001b\]2;x\\u0007\\u202e\.csv;/);
    assert.match(text, /batch 0: bad \\u001b/);
  });
});

describe("batchTableRow()", () => {
  test("escapes the first date cell and cuts a long one", () => {
    const result = {
      index: 0,
      batchSize: 3,
      count: 3,
      tol: 0,
      loss: 0.5,
      running: { tol: 0, loss: 0.5 },
    } as unknown as BatchResult;
    const row = batchTableRow(result, { line: 2, date: `2012 ${ESC}` }, false, true);
    assert.doesNotMatch(row, RAW);
    assert.match(row, /2012 \\u001b\]2;x\\u0007\\u202e/);
    const long = batchTableRow(result, { line: 2, date: "9".repeat(500) }, false, true);
    assert.ok(long.length < 150, long);
  });
});
