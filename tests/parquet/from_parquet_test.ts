import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { parquetMetadata } from "hyparquet";
import { BatchCorrError, correlateBatches } from "../../mod.ts";
import { fromParquet, type ParquetByteSource } from "../../src/parquet/mod.ts";
import {
  collect,
  fixture,
  fixtureBytes,
  maxAbsDiff,
  numericRows,
  readCsvFixture,
  referenceResults,
  resultsDiff,
} from "../arrow/columnar_fixtures.ts";

const FEATURES = ["f_a", "f_b", "f_c", "f_d", "f_e"];
const CONFOUNDS = ["motion", "age"];
const SIGNED = { abs: false } as const;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

/** A byte source that records every range read. */
function recordingSource(
  bytes: Uint8Array,
): { source: ParquetByteSource; reads: [number, number][] } {
  const reads: [number, number][] = [];
  return {
    reads,
    source: {
      byteLength: bytes.byteLength,
      slice(start, end = bytes.byteLength) {
        reads.push([start, end]);
        return bytes.slice(start, end).buffer;
      },
    },
  };
}

describe("fromParquet() on a file written by pyarrow", () => {
  const csv = readCsvFixture("drift.csv");
  const { rows } = numericRows(csv, [...FEATURES, ...CONFOUNDS]);

  test("gives the same correlations as the CSV of the same data, to 1e-15, with batches across row groups", async () => {
    const batches = fromParquet(fixture("drift.parquet"), {
      features: FEATURES,
      confounds: CONFOUNDS,
      batchSize: 50,
    });
    const actual = await collect(correlateBatches(batches, SIGNED));
    const expected = await referenceResults(rows, FEATURES.length, 50, SIGNED);
    assert.equal(actual.length, 8);
    assert.ok(
      resultsDiff(actual, expected) <= 1e-15,
      `max difference ${resultsDiff(actual, expected)}`,
    );
    assert.ok(
      Math.abs(actual.at(-1)!.running.correlations!.data[0]!) > 0.1,
      "the fixture has a real correlation",
    );
  });

  test("reads each row group as one batch without batchSize, and its values are exactly the CSV's", async () => {
    const batches = await collect(
      fromParquet(fixture("drift.parquet"), { features: FEATURES, confounds: CONFOUNDS }),
    );
    assert.deepEqual(batches.map((b) => b.x.shape), [[96, 5], [96, 5], [96, 5], [96, 5], [16, 5]]);
    assert.deepEqual(batches.map((b) => [b.firstRow, b.lastRow, b.skippedRows]), [
      [0, 95, 0],
      [96, 191, 0],
      [192, 287, 0],
      [288, 383, 0],
      [384, 399, 0],
    ]);
    const x = batches.flatMap((b) => Array.from(b.x.data));
    assert.deepEqual(x, rows.flatMap((row) => row.slice(0, 5)));
    const motion = batches.flatMap((b) => Array.from(b.n.data.subarray(0, b.n.shape[1])));
    assert.deepEqual(motion, rows.map((row) => row[5]));
    assert.deepEqual(batches[0]!.columns, { features: FEATURES, confounds: CONFOUNDS });
    const actual = await collect(correlateBatches(batches, SIGNED));
    const expected = await referenceResults(rows, FEATURES.length, 96, SIGNED);
    assert.ok(resultsDiff(actual, expected) <= 1e-15);
  });

  test("reads a path, a URL, a Blob, the bytes and a byte source alike", async () => {
    const bytes = fixtureBytes("drift.parquet");
    const options = { confounds: ["motion"], batchSize: 128 };
    const sources = [
      fixture("drift.parquet").pathname,
      fixture("drift.parquet"),
      new Blob([bytes]),
      bytes,
      bytes.slice().buffer,
      recordingSource(bytes).source,
    ];
    const expected = (await collect(fromParquet(sources[0]!, options))).map((b) =>
      Array.from(b.x.data)
    );
    assert.equal(expected.length, 4);
    for (const source of sources.slice(1)) {
      const actual = (await collect(fromParquet(source, options))).map((b) => Array.from(b.x.data));
      assert.deepEqual(actual, expected);
    }
  });

  test("defaults the features to every column that is not a confound, in schema order", async () => {
    const [first] = await collect(fromParquet(fixture("drift.parquet"), { confounds: ["age"] }));
    assert.deepEqual(first!.columns.features, [...FEATURES, "motion"]);
    assert.deepEqual(first!.x.shape, [96, 6]);
  });

  test("reads the footer, then only the current row group's ranges, and stops reading when the consumer stops", async () => {
    const bytes = fixtureBytes("drift.parquet");
    const metadata = parquetMetadata(bytes.slice().buffer);
    const groups = metadata.row_groups.map((group) => {
      const starts = group.columns.map((c) =>
        Number(c.meta_data!.dictionary_page_offset ?? c.meta_data!.data_page_offset)
      );
      const ends = group.columns.map((c, i) =>
        starts[i]! + Number(c.meta_data!.total_compressed_size)
      );
      return [Math.min(...starts), Math.max(...ends)] as const;
    });
    const { source, reads } = recordingSource(bytes);
    const iterator = fromParquet(source, { features: ["f_a"], confounds: ["motion"] });
    const first = await iterator.next();
    assert.equal(first.done, false);
    await iterator.return(undefined);
    const [footer, ...data] = reads;
    assert.equal(footer![1], bytes.byteLength, "the first read is the footer's");
    assert.ok(data.length > 0);
    for (const [start, end] of data) {
      assert.ok(
        start >= groups[0]![0] && end <= groups[0]![1],
        `read [${start}, ${end}) lies in row group 0`,
      );
    }
  });
});

describe("fromParquet() with nulls", () => {
  const csv = readCsvFixture("nulls.csv");

  test('nulls "error" names the column, its type and the row', async () => {
    const error = await rejection(
      collect(fromParquet(fixture("nulls.parquet"), { confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /^Cannot read Parquet as column "x" \(DOUBLE\) must hold no null/);
    assert.match(error.message, /current value is null at row 3 \(pass nulls: "skip-row"/);
  });

  test('nulls "skip-row" drops the rows with a null in any selected column, as the CSV reference does', async () => {
    const skipped: unknown[] = [];
    const batches = await collect(
      fromParquet(fixture("nulls.parquet"), {
        features: ["x", "y"],
        confounds: ["motion"],
        nulls: "skip-row",
        batchSize: 10,
        onSkippedRow: (row) => skipped.push(row),
      }),
    );
    assert.deepEqual(skipped, [
      { row: 3, column: "x" },
      { row: 17, column: "x" },
      { row: 18, column: "x" },
      { row: 25, column: "motion" },
      { row: 31, column: "x" },
    ]);
    assert.deepEqual(batches.map((b) => [b.x.shape[0], b.firstRow, b.lastRow, b.skippedRows]), [
      [10, 0, 10, 1],
      [10, 11, 22, 2],
      [10, 23, 34, 2],
      [5, 35, 39, 0],
    ]);
    const { rows } = numericRows(csv, ["x", "y", "motion"]);
    assert.deepEqual(
      batches.flatMap((b) => Array.from(b.x.data)),
      rows.flatMap((row) => row.slice(0, 2)),
    );
    const actual = await collect(correlateBatches(batches, SIGNED));
    const expected = await referenceResults(rows, 2, 10, SIGNED);
    assert.ok(resultsDiff(actual, expected) <= 1e-15);
  });

  test("a column of the file that is not selected is never looked at for nulls", async () => {
    // x has four nulls and is not selected: only motion's one null skips a row.
    const skipped: unknown[] = [];
    const batches = await collect(
      fromParquet(fixture("nulls.parquet"), {
        features: ["y"],
        confounds: ["motion"],
        nulls: "skip-row",
        onSkippedRow: (row) => skipped.push(row),
      }),
    );
    assert.deepEqual(skipped, [{ row: 25, column: "motion" }]);
    assert.equal(batches.reduce((sum, b) => sum + b.x.shape[0], 0), 39);
  });
});

describe("fromParquet() refuses what it cannot read exactly", () => {
  const cases: [string, RegExp][] = [
    ["label", /current type is BYTE_ARRAY \(STRING\)$/],
    ["when", /current type is INT64 \(TIMESTAMP\(MICROS\)\)$/],
    ["flag", /current type is BOOLEAN$/],
    ["price", /current type is FIXED_LEN_BYTE_ARRAY \(DECIMAL\(10, 2\)\)$/],
    ["day", /current type is INT32 \(DATE\)$/],
  ];
  for (const [column, type] of cases) {
    test(`a ${column} column is a TypeError naming the column and its Parquet type, before any data is read`, async () => {
      const { source, reads } = recordingSource(fixtureBytes("types.parquet"));
      const error = await rejection(
        collect(fromParquet(source, { features: ["ok", column], confounds: ["motion"] })),
      );
      assert.ok(error instanceof TypeError);
      assert.match(
        error.message,
        new RegExp(
          `^Cannot read Parquet as column "${column}" \\(a feature\\) must be a flat numeric Parquet column`,
        ),
      );
      assert.match(error.message, type);
      assert.equal(reads.length, 1, "only the footer was read");
    });
  }

  test("a confound of the wrong type is named as a confound", async () => {
    const error = await rejection(
      collect(fromParquet(fixture("types.parquet"), { features: ["ok"], confounds: ["label"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /column "label" \(a confound\)/);
  });

  test("INT64 values are read exactly up to 2^53 and a larger one is a RangeError naming column, row and value", async () => {
    const error = await rejection(
      collect(fromParquet(fixture("types.parquet"), { features: ["big"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof RangeError);
    assert.equal(
      error.message,
      'Cannot read Parquet as column "big" (INT64) must hold integers of magnitude at most 2^53, which float64 holds exactly: ' +
        "current value is 9007199254740993n at row 5",
    );
    const csv = readCsvFixture("drift.csv");
    const [batch] = await collect(
      fromParquet(fixture("drift.parquet"), { features: ["f_e"], confounds: ["age"] }),
    );
    assert.deepEqual(Array.from(batch!.x.data), csv.rows.slice(0, 96).map((row) => row[4]));
    assert.ok(
      Array.from(batch!.x.data).some((v) => Math.abs(v) > 2 ** 31),
      "the column holds values beyond int32",
    );
  });

  test("a name that is not a column lists the columns", async () => {
    const error = await rejection(
      collect(fromParquet(fixture("drift.parquet"), { features: ["f_z"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.equal(
      error.message,
      'Cannot read Parquet as options.features[0] must name a column of the file (f_a, f_b, f_c, f_d, f_e, motion, age): current value is "f_z"',
    );
  });
});

describe("fromParquet() on a truncated or foreign file", () => {
  const bytes = fixtureBytes("drift.parquet");

  for (const cut of [0, 7, 4000, bytes.byteLength - 1]) {
    test(`the first ${cut} bytes give a BatchCorrError that says the file may be truncated`, async () => {
      const error = await rejection(
        collect(fromParquet(bytes.slice(0, cut), { confounds: ["motion"] })),
      );
      assert.ok(error instanceof BatchCorrError);
      assert.equal(error.code, "stream_batch_failed");
      assert.equal(error.details.rowGroup, -1);
      assert.match(
        error.message,
        /^Cannot read Parquet as the file must be a complete Parquet file: current value could not be decoded at its footer/,
      );
      assert.match(error.message, /may be truncated or corrupt$/);
    });
  }

  test("a truncated file on disk is closed after the error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-parquet-"));
    try {
      const path = join(dir, "cut.parquet");
      writeFileSync(path, bytes.subarray(0, 5000));
      const error = await rejection(collect(fromParquet(path, { confounds: ["motion"] })));
      assert.ok(error instanceof BatchCorrError);
      rmSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a directory or a missing path is refused at open, naming it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-parquet-"));
    try {
      const error = await rejection(collect(fromParquet(dir, { confounds: ["motion"] })));
      assert.ok(error instanceof TypeError);
      assert.equal(
        error.message,
        `Cannot read Parquet as file must be a path to a regular file (read by position): current value is ${
          JSON.stringify(dir)
        } (a directory)`,
      );
      const missing = await rejection(
        collect(fromParquet(join(dir, "nope.parquet"), { confounds: ["motion"] })),
      );
      assert.equal((missing as Error & { code?: string }).code, "ENOENT");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a corrupt data page in row group 2 names the row group", async () => {
    const metadata = parquetMetadata(bytes.slice().buffer);
    const chunk = metadata.row_groups[2]!.columns[0]!.meta_data!;
    const broken = bytes.slice();
    const start = Number(chunk.data_page_offset);
    broken.fill(0xee, start, start + Number(chunk.total_compressed_size));
    const batches = fromParquet(broken, { features: ["f_a"], confounds: ["motion"] });
    const error = await rejection(collect(batches));
    assert.ok(error instanceof BatchCorrError);
    assert.equal(error.details.rowGroup, 2);
    assert.match(error.message, /could not be decoded at row group 2/);
  });
});

describe("fromParquet() options", () => {
  test("rejects bad options at the call, naming them", () => {
    const file = fixture("drift.parquet");
    assert.throws(() => fromParquet(file, { confounds: [] }), RangeError);
    assert.throws(
      () =>
        fromParquet(file, {
          confounds: ["motion"],
          compressors: { SNAPPY2: () => new Uint8Array() },
        } as never),
      TypeError,
    );
    assert.throws(() => fromParquet(file, { confounds: ["motion"], batchSize: 0 }), RangeError);
    assert.throws(
      () => fromParquet(file, { confounds: ["motion", "motion"] }),
      /options.confounds must be a non-empty array of distinct/,
    );
    assert.throws(
      () => fromParquet(file, { features: ["f_a", "age"], confounds: ["motion", "age"] }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message ===
          'Cannot read Parquet as options.features and options.confounds must not share a column: current value names "age" in both',
    );
    assert.throws(
      () => fromParquet(file, { confounds: ["motion"], nulls: "drop" as "error" }),
      /options.nulls must be "error" or "skip-row"/,
    );
    assert.throws(
      () => fromParquet(file, { confounds: ["motion"], rows: 3 } as never),
      /must only have the known keys/,
    );
    assert.throws(
      () => fromParquet(42 as never, { confounds: ["motion"] }),
      /file must be a path, a URL, a Blob/,
    );
  });

  test('partial "drop" discards the last partial batch', async () => {
    const batches = await collect(
      fromParquet(fixture("drift.parquet"), {
        confounds: ["motion"],
        batchSize: 150,
        partial: "drop",
      }),
    );
    assert.deepEqual(batches.map((b) => b.x.shape[0]), [150, 150]);
  });

  test("a codec without a decompressor names the column and the codec, and a given decompressor is used", async () => {
    const error = await rejection(
      collect(fromParquet(fixture("gzip.parquet"), { confounds: ["motion"] })),
    );
    assert.ok(error instanceof BatchCorrError);
    assert.equal(error.code, "peer_missing");
    assert.equal(
      (error.details.install as { bun: string }).bun,
      "bun add hyparquet-compressors@^1.1.0",
    );
    assert.match(
      error.message,
      /column "f_a" must be uncompressed, Snappy-compressed, or have a decompressor in options.compressors: current codec is GZIP/,
    );
    assert.match(error.message, /bun add hyparquet-compressors/);
    let calls = 0;
    const GZIP = (input: Uint8Array) => {
      calls++;
      return new Uint8Array(gunzipSync(input));
    };
    const [batch] = await collect(
      fromParquet(fixture("gzip.parquet"), { confounds: ["motion"], compressors: { GZIP } }),
    );
    assert.ok(calls > 0);
    const csv = readCsvFixture("drift.csv");
    assert.deepEqual(Array.from(batch!.x.data), csv.rows.slice(0, 100).map((row) => row[0]));
    assert.deepEqual(Array.from(batch!.n.data), csv.rows.slice(0, 100).map((row) => row[5]));
  });

  test("values read from a Float64 column are exactly the CSV's (no rounding through text)", async () => {
    const csv = readCsvFixture("drift.csv");
    const [batch] = await collect(
      fromParquet(fixture("drift.parquet"), { features: ["f_c"], confounds: ["motion"] }),
    );
    assert.equal(
      maxAbsDiff(batch!.x.data, csv.rows.slice(0, 96).map((row) => row[2] as number)),
      0,
    );
  });
});
