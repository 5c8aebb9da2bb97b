import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  Bool,
  Dictionary,
  Field,
  FixedSizeList,
  Float16,
  Float32,
  Float64,
  Int32,
  Int64,
  RecordBatchReader,
  Schema,
  Table,
  tableFromArrays,
  tableToIPC,
  Utf8,
  vectorFromArray,
} from "apache-arrow";
import { BatchCorrError, correlateBatches } from "../../mod.ts";
import { fromArrow, type FromArrowSource } from "../../src/arrow/mod.ts";
import {
  chunked,
  collect,
  fixture,
  fixtureBytes,
  numericRows,
  readCsvFixture,
  referenceResults,
  resultsDiff,
} from "./columnar_fixtures.ts";

const SIGNED = { abs: false } as const;
const EMB = ["emb[0]", "emb[1]", "emb[2]"];

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

function streamOf(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunked(bytes, size));
}

describe("fromArrow() on IPC written by pyarrow", () => {
  const csv = readCsvFixture("mixed.csv");
  const features = ["y", "d", "i32", "i64", "emb"];
  const csvFeatures = ["y", "d", "i32", "i64", ...EMB];
  const { rows } = numericRows(csv, [...csvFeatures, "motion", "age"]);

  const sources: [string, () => FromArrowSource][] = [
    ["an IPC stream file path", () => fixture("mixed.arrows").pathname],
    ["an IPC file path", () => fixture("mixed.arrow")],
    ["IPC stream bytes", () => fixtureBytes("mixed.arrows")],
    ["IPC file bytes", () => fixtureBytes("mixed.arrow").buffer],
    ["a ReadableStream of IPC stream chunks", () => streamOf(fixtureBytes("mixed.arrows"), 1000)],
    ["an async iterable of IPC file chunks", () => chunked(fixtureBytes("mixed.arrow"), 777)],
    ["an opened RecordBatchReader", () => RecordBatchReader.from(fixtureBytes("mixed.arrows"))],
  ];
  for (const [what, source] of sources) {
    test(`reads ${what}: float32, dictionary, integer and fixed-size-list columns exactly as the CSV holds them`, async () => {
      const batches = await collect(
        fromArrow(source(), { features, confounds: ["motion", "age"] }),
      );
      assert.deepEqual(batches.map((b) => [b.x.shape, b.n.shape, b.firstRow, b.lastRow]), [
        [[20, 7], [2, 20], 0, 19],
        [[20, 7], [2, 20], 20, 39],
        [[20, 7], [2, 20], 40, 59],
      ]);
      assert.deepEqual(batches[0]!.columns.features, csvFeatures);
      assert.deepEqual(
        batches.flatMap((b) => Array.from(b.x.data)),
        rows.flatMap((row) => row.slice(0, 7)),
      );
      const n = batches.flatMap((b) => [...b.n.data.subarray(0, 20), ...b.n.data.subarray(20)]);
      assert.deepEqual(
        n,
        [0, 1, 2].flatMap((k) => [
          ...rows.slice(k * 20, k * 20 + 20).map((r) => r[7]),
          ...rows.slice(k * 20, k * 20 + 20).map((r) => r[8]),
        ]),
      );
    });
  }

  test("gives the same correlations as the CSV of the same data, to 1e-15, batched across record batches", async () => {
    const batches = fromArrow(fixture("mixed.arrows"), {
      features,
      confounds: ["motion", "age"],
      batchSize: 15,
    });
    const actual = await collect(correlateBatches(batches, SIGNED));
    const expected = await referenceResults(rows, 7, 15, SIGNED);
    assert.equal(actual.length, 4);
    assert.ok(
      resultsDiff(actual, expected) <= 1e-15,
      `max difference ${resultsDiff(actual, expected)}`,
    );
  });

  test("reuseBuffers gathers every copied batch into the same storage, with the same correlations", async () => {
    const options = { features, confounds: ["motion", "age"], batchSize: 15 };
    const expected = await collect(
      correlateBatches(fromArrow(fixture("mixed.arrows"), options), SIGNED),
    );
    const reused = fromArrow(fixture("mixed.arrows"), { ...options, reuseBuffers: true });
    const buffers = new Set<ArrayBufferLike>();
    async function* noting() {
      for await (const batch of reused) {
        buffers.add(batch.x.data.buffer);
        yield batch;
      }
    }
    const actual = await collect(correlateBatches(noting(), SIGNED));
    assert.equal(buffers.size, 1);
    assert.equal(resultsDiff(actual, expected), 0);
    const kept = await collect(
      fromArrow(fixture("mixed.arrows"), { ...options, reuseBuffers: true }),
    );
    assert.equal(
      kept[0]!.x.data.buffer,
      kept[1]!.x.data.buffer,
      "kept batches share storage: the documented caveat",
    );
  });

  test('nulls "error" names the column, its Arrow type and the row', async () => {
    const error = await rejection(
      collect(fromArrow(fixture("mixed.arrows"), { features: ["x", "y"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.equal(
      error.message,
      'Cannot read Arrow IPC as column "x" (Float64) must hold no null with options.nulls "error": current value is null at row 2 ' +
        '(pass nulls: "skip-row" to drop such rows)',
    );
  });

  test('nulls "skip-row" drops those rows and matches the CSV reference without them', async () => {
    const skipped: number[] = [];
    const options = { features: ["x", "emb"], confounds: ["motion"], nulls: "skip-row" as const };
    const batches = await collect(
      fromArrow(fixture("mixed.arrow"), {
        ...options,
        onSkippedRow: ({ row }) => skipped.push(row),
      }),
    );
    assert.deepEqual(skipped, [2, 11, 47]);
    assert.deepEqual(batches.map((b) => [b.x.shape[0], b.firstRow, b.lastRow, b.skippedRows]), [
      [18, 0, 19, 2],
      [20, 20, 39, 0],
      [19, 40, 59, 1],
    ]);
    const { rows: kept } = numericRows(csv, ["x", ...EMB, "motion"]);
    assert.equal(kept.length, 57);
    assert.deepEqual(
      batches.flatMap((b) => Array.from(b.x.data)),
      kept.flatMap((row) => row.slice(0, 4)),
    );
    const regrouped = fromArrow(fixture("mixed.arrows"), { ...options, batchSize: 19 });
    const actual = await collect(correlateBatches(regrouped, SIGNED));
    const expected = await referenceResults(kept, 4, 19, SIGNED);
    assert.equal(actual.length, 3);
    assert.ok(resultsDiff(actual, expected) <= 1e-15);
  });

  test("a dictionary of strings is a TypeError naming the column and its Arrow type", async () => {
    const error = await rejection(
      collect(fromArrow(fixture("mixed.arrows"), { features: ["y", "s"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.match(
      error.message,
      /^Cannot read Arrow IPC as column "s" \(a feature\) must be a numeric Arrow column/,
    );
    assert.match(error.message, /current type is Dictionary<Int32, Utf8>$/);
  });

  test("the default features are every non-confound column, so a string column among them is named", async () => {
    const error = await rejection(
      collect(fromArrow(fixture("mixed.arrows"), { confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.match(
      error.message,
      /feature column "s" \(by default every non-confound column; pass options.features to choose\)|column "s"/,
    );
  });

  test("an Int64 value beyond 2^53 is a RangeError naming column, row and value", async () => {
    const error = await rejection(
      collect(fromArrow(fixture("wide.arrows"), { features: ["big"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof RangeError);
    assert.equal(
      error.message,
      'Cannot read Arrow IPC as column "big" (Int64) must hold integers of magnitude at most 2^53, which float64 holds exactly: ' +
        "current value is 9007199254740993n at row 5",
    );
  });
});

describe("fromArrow() on truncated or foreign input", () => {
  const stream = fixtureBytes("mixed.arrows");
  const file = fixtureBytes("mixed.arrow");

  for (const cut of [100, 1000, 3000]) {
    test(`an IPC stream cut at byte ${cut} (inside a message) is a BatchCorrError naming the record batch`, async () => {
      const error = await rejection(
        collect(fromArrow(stream.slice(0, cut), { features: ["y"], confounds: ["motion"] })),
      );
      assert.ok(error instanceof BatchCorrError);
      assert.equal(error.code, "stream_batch_failed");
      assert.match(
        error.message,
        /^Cannot read Arrow IPC as the input must be a complete Arrow IPC stream or file: current value could not be decoded at record batch \d/,
      );
      assert.match(error.message, /Expected to read \d+ metadata bytes/);
      assert.match(error.message, /the input may be truncated or corrupt$/);
    });

    test(`an IPC stream cut at byte ${cut} and read as chunks fails the same way`, async () => {
      const error = await rejection(
        collect(
          fromArrow(chunked(stream.slice(0, cut), 64), { features: ["y"], confounds: ["motion"] }),
        ),
      );
      assert.ok(error instanceof BatchCorrError);
      assert.equal(error.code, "stream_batch_failed");
    });
  }

  test("the batches before the cut of a stream are yielded before the error", async () => {
    const yielded: number[] = [];
    const error = await rejection((async () => {
      for await (
        const batch of fromArrow(stream.slice(0, 5000), { features: ["y"], confounds: ["motion"] })
      ) yielded.push(batch.firstRow);
    })());
    assert.ok(error instanceof BatchCorrError);
    assert.ok(yielded.length >= 1 && yielded.length < 3, `yielded ${yielded}`);
    assert.equal(error.details.batch, yielded.length);
  });

  for (const cut of [8, 3000, file.length - 1]) {
    test(`an IPC file cut at byte ${cut} is refused up front as a file without its end`, async () => {
      const error = await rejection(
        collect(fromArrow(file.slice(0, cut), { features: ["y"], confounds: ["motion"] })),
      );
      assert.ok(error instanceof BatchCorrError);
      assert.match(
        error.message,
        /current value is an Arrow IPC file without its end at record batch 0 \(an IPC file of \d+ bytes must end with its footer and the magic ARROW1\)/,
      );
    });
  }

  test("a cut IPC file on disk is refused the same way, and its handle closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-arrow-"));
    try {
      const path = join(dir, "cut.arrow");
      writeFileSync(path, file.subarray(0, 3000));
      const error = await rejection(
        collect(fromArrow(path, { features: ["y"], confounds: ["motion"] })),
      );
      assert.ok(error instanceof BatchCorrError);
      assert.match(error.message, /without its end/);
      rmSync(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a directory or a device is refused at open, naming it and what to pass instead", async () => {
    const dir = mkdtempSync(join(tmpdir(), "batch-corr-arrow-"));
    try {
      for (const [path, kind] of [[dir, "a directory"], ["/dev/null", "a device"]]) {
        const error = await rejection(collect(fromArrow(path!, { confounds: ["motion"] })));
        assert.ok(error instanceof TypeError);
        assert.equal(
          error.message,
          `Cannot read Arrow IPC as source must be a path to a regular file (read by position): current value is ${
            JSON.stringify(path)
          } (${kind}); a pipe's or a socket's bytes can be passed as a stream instead`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("three bytes, or bytes that are not Arrow, hold no schema", async () => {
    for (const bytes of [stream.slice(0, 3), new TextEncoder().encode("a,b\n1,2\n")]) {
      const error = await rejection(
        collect(fromArrow(bytes, { features: ["y"], confounds: ["motion"] })),
      );
      assert.ok(error instanceof BatchCorrError, String(error));
      assert.equal(error.code, "stream_batch_failed");
    }
  });

  test("a source of the wrong kind, or chunks that are not bytes, are TypeErrors", async () => {
    assert.throws(
      () => fromArrow(42 as never, { confounds: ["motion"] }),
      /source must be a file path, IPC bytes/,
    );
    const error = await rejection(
      collect(fromArrow([stream.slice(0, 10), "more" as never], { confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.match(
      error.message,
      /chunk 1 of the source must be a Uint8Array of IPC bytes, as the first one was: current value is "more"/,
    );
    const words = await rejection(
      collect(fromArrow(["a", "b"] as never, { confounds: ["motion"] })),
    );
    assert.ok(words instanceof TypeError);
    assert.match(
      words.message,
      /items of the source must be Uint8Arrays of IPC bytes or RecordBatches: current value is "a"/,
    );
  });
});

describe("fromArrow() on tables and record batches built here", () => {
  const table = tableFromArrays({
    a: new Float64Array([1, 4, 2, 8, 5, 7, 3, 6]),
    b: new Float32Array([0.5, 0.25, 1, 2, 4, 1.5, 3, 0.75]),
    motion: new Float64Array([0.1, 0.4, 0.2, 0.9, 0.5, 0.6, 0.3, 0.7]),
  });

  test("one Float64 feature and one confound are views of the Arrow buffers, not copies", async () => {
    const [batch] = await collect(fromArrow(table, { features: ["a"], confounds: ["motion"] }));
    assert.equal(batch!.x.data.buffer, table.getChild("a")!.data[0]!.values.buffer);
    assert.equal(batch!.n.data.buffer, table.getChild("motion")!.data[0]!.values.buffer);
    const halves = await collect(
      fromArrow(table, { features: ["b"], confounds: ["motion"], batchSize: 4 }),
    );
    assert.ok(halves[1]!.x.data instanceof Float32Array);
    assert.equal(halves[1]!.x.data.buffer, table.getChild("b")!.data[0]!.values.buffer);
    assert.deepEqual(Array.from(halves[1]!.x.data), [4, 1.5, 3, 0.75]);
  });

  test("IPC bytes in memory are read without copying the float columns", async () => {
    const bytes = tableToIPC(table, "stream");
    const [batch] = await collect(fromArrow(bytes, { features: ["a"], confounds: ["motion"] }));
    assert.equal(batch!.x.data.buffer, bytes.buffer);
    assert.deepEqual(Array.from(batch!.x.data), [1, 4, 2, 8, 5, 7, 3, 6]);
  });

  test("a FixedSizeList feature column is a (B, F) view, with the same correlations as its columns spelled out", async () => {
    const values = new Float64Array(24).map((_, i) => Math.sin(i * 1.3) * 10 + (i % 3));
    const emb = vectorFromArray(
      Array.from({ length: 8 }, (_, r) => Array.from(values.subarray(r * 3, r * 3 + 3))),
      new FixedSizeList(3, new Field("item", new Float64(), false)),
    );
    const listed = new Table({ emb, motion: table.getChild("motion")! });
    const [batch] = await collect(fromArrow(listed, { features: ["emb"], confounds: ["motion"] }));
    assert.deepEqual(batch!.x.shape, [8, 3]);
    assert.equal(batch!.x.data.buffer, emb.data[0]!.children[0]!.values.buffer);
    assert.deepEqual(batch!.columns.features, ["emb[0]", "emb[1]", "emb[2]"]);
    const spelled = tableFromArrays({
      e0: Float64Array.from({ length: 8 }, (_, r) => values[r * 3]!),
      e1: Float64Array.from({ length: 8 }, (_, r) => values[r * 3 + 1]!),
      e2: Float64Array.from({ length: 8 }, (_, r) => values[r * 3 + 2]!),
      motion: table.getChild("motion")!.toArray() as Float64Array,
    });
    const [a] = await collect(
      correlateBatches(fromArrow(listed, { features: ["emb"], confounds: ["motion"] }), SIGNED),
    );
    const [b] = await collect(
      correlateBatches(
        fromArrow(spelled, { features: ["e0", "e1", "e2"], confounds: ["motion"] }),
        SIGNED,
      ),
    );
    assert.deepEqual(Array.from(a!.correlations!.data), Array.from(b!.correlations!.data));
  });

  test("Float16, Int32 and dictionary columns are converted exactly", async () => {
    const t = new Table({
      h: vectorFromArray([0.5, -2, 1024, 0.000060975551605224609375], new Float16()),
      i: vectorFromArray([-2147483648, 0, 7, 2147483647], new Int32()),
      d: vectorFromArray([2.5, 0.125, 2.5, 0.125], new Dictionary(new Float64(), new Int32())),
      motion: vectorFromArray([1, 2, 3, 5], new Float64()),
    });
    const [batch] = await collect(
      fromArrow(t, { features: ["h", "i", "d"], confounds: ["motion"] }),
    );
    assert.deepEqual(Array.from(batch!.x.data), [
      0.5,
      -2147483648,
      2.5,
      -2,
      0,
      0.125,
      1024,
      7,
      2.5,
      0.000060975551605224609375,
      2147483647,
      0.125,
    ]);
  });

  test("Int64 values within 2^53 are read exactly, 2^53 itself included", async () => {
    const t = new Table({
      big: vectorFromArray([2n ** 53n, -(2n ** 53n), 12345678901234n, 0n], new Int64()),
      motion: vectorFromArray([1, 2, 3, 5], new Float64()),
    });
    const [batch] = await collect(fromArrow(t, { features: ["big"], confounds: ["motion"] }));
    assert.deepEqual(Array.from(batch!.x.data), [2 ** 53, -(2 ** 53), 12345678901234, 0]);
  });

  test("Utf8 and Bool columns, and a FixedSizeList confound, are TypeErrors naming the column and type", async () => {
    const t = new Table({
      s: vectorFromArray(["a", "b"], new Utf8()),
      flag: vectorFromArray([true, false], new Bool()),
      emb: vectorFromArray(
        [[1, 2], [3, 4]],
        new FixedSizeList(2, new Field("item", new Float64(), false)),
      ),
      motion: vectorFromArray([1, 2], new Float64()),
    });
    for (
      const [options, pattern] of [
        [
          { features: ["s"], confounds: ["motion"] },
          /column "s" \(a feature\) .*: current type is Utf8$/,
        ],
        [
          { features: ["flag"], confounds: ["motion"] },
          /column "flag" \(a feature\) .*: current type is Bool$/,
        ],
        [
          { features: ["motion"], confounds: ["emb"] },
          /column "emb" \(a confound\) must be a numeric Arrow column: Float16, .* or a Dictionary of one of those: current type is FixedSizeList\[2\]<Float64>$/,
        ],
      ] as const
    ) {
      const error = await rejection(collect(fromArrow(t, options)));
      assert.ok(error instanceof TypeError);
      assert.match(error.message, pattern);
    }
  });

  test("a name that is not a column lists the schema's columns", async () => {
    const error = await rejection(
      collect(fromArrow(table, { features: ["z"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.equal(
      error.message,
      'Cannot read Arrow IPC as options.features[0] must name a column of the input (a, b, motion): current value is "z"',
    );
  });

  test("a stream whose later record batch changes a column's type is refused", async () => {
    const first = tableFromArrays({
      a: new Float64Array([1, 2, 3]),
      motion: new Float64Array([3, 1, 2]),
    }).batches[0]!;
    const second = new Table({
      a: vectorFromArray(["x", "y", "z"], new Utf8()),
      motion: vectorFromArray([1, 2, 3], new Float64()),
    }).batches[0]!;
    const error = await rejection(
      collect(fromArrow([first, second], { features: ["a"], confounds: ["motion"] })),
    );
    assert.ok(error instanceof TypeError);
    assert.match(
      error.message,
      /every record batch must keep column "a" as Float64: current batch has a: Utf8 at field 0/,
    );
  });

  test("stopping early cancels a ReadableStream source", async () => {
    let cancelled = false;
    const bytes = fixtureBytes("mixed.arrows");
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 4000));
      },
      pull(controller) {
        controller.enqueue(bytes.slice(4000));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const _ of fromArrow(source, { features: ["y"], confounds: ["motion"] })) break;
    assert.ok(cancelled);
  });

  test("a schema with nullable fields but no null reads every row", async () => {
    const schema = new Schema([
      new Field("a", new Float32(), true),
      new Field("motion", new Float64(), true),
    ]);
    const t = new Table(schema, {
      a: vectorFromArray([1, 2, 3], new Float32()),
      motion: vectorFromArray([2, 1, 3], new Float64()),
    });
    const batches = await collect(fromArrow(t, { confounds: ["motion"] }));
    assert.equal(batches[0]!.x.shape[0], 3);
  });

  test("rejects bad options at the call", () => {
    assert.throws(() => fromArrow(table, { confounds: ["motion"], batchSize: -1 }), RangeError);
    assert.throws(
      () => fromArrow(table, { confounds: ["motion"], nulls: "zero" as never }),
      /options.nulls must be "error" or "skip-row"/,
    );
    assert.throws(
      () => fromArrow(table, { features: ["a", "a"], confounds: ["motion"] }),
      /options.features must be a non-empty array of distinct column names/,
    );
    assert.throws(
      () => fromArrow(table, { features: ["a", "motion"], confounds: ["motion"] }),
      (error: Error) =>
        error instanceof TypeError &&
        error.message ===
          'Cannot read Arrow IPC as options.features and options.confounds must not share a column: current value names "motion" in both',
    );
    assert.throws(
      () => fromArrow(table, { confounds: ["motion"], onSkippedRow: 3 as never }),
      /options.onSkippedRow must be a function/,
    );
    assert.throws(
      () => fromArrow(table, { confounds: ["motion"], confound: ["motion"] } as never),
      /must only have the known keys/,
    );
  });
});
