/**
 * fromArrow's own IPC reader, which reads uncompressed Float64/Float32 columns
 * without apache-arrow: against the CSV twins pyarrow wrote, against
 * apache-arrow's decoding of the same tables (random tables, nulls, record
 * batch sizes and batching), at every cut of a stream and after random
 * corruption, and where it hands the input to apache-arrow (another selected
 * type, compression midway).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  compressionRegistry,
  CompressionType,
  Field,
  Float32,
  Float64,
  makeData,
  RecordBatch,
  Schema,
  Struct,
  Table,
  tableToIPC,
  vectorFromArray,
} from "apache-arrow";
import { BatchCorrError, correlateBatches } from "../../mod.ts";
import { fromArrow, type FromArrowSource } from "../../src/arrow/mod.ts";
import { fromArrowFile, type PositionalFile } from "../../src/arrow/from_arrow.ts";
import type { ColumnarBatch } from "../../src/arrow/columnar_options.ts";
import { RUNS, SEED } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";
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
import { decodeLz4Frame } from "./lz4_frame.ts";

const OPTIONS = { features: ["a", "b"], confounds: ["motion"] };
const READ_PREFIX = "Cannot read Arrow IPC as ";

async function outcome(source: FromArrowSource, options: Parameters<typeof fromArrow>[1]) {
  const batches: ColumnarBatch[] = [];
  try {
    for await (const batch of fromArrow(source, options)) batches.push(batch);
    return { batches, error: undefined };
  } catch (error) {
    return { batches, error: error as Error };
  }
}

/** Rows of x and n as the CSV orders them: features, then confounds. */
function rowsOf(batches: readonly ColumnarBatch[]): number[][] {
  return batches.flatMap((batch) => {
    const [rows, features] = batch.x.shape as [number, number];
    const confounds = batch.n.shape[0] as number;
    return Array.from({ length: rows }, (_, r) => [
      ...Array.from(batch.x.data.subarray(r * features, (r + 1) * features)),
      ...Array.from({ length: confounds }, (_, m) => batch.n.data[m * rows + r]!),
    ]);
  });
}

describe("fromArrow()'s own reader on IPC written by pyarrow", () => {
  const { rows } = numericRows(readCsvFixture("flat_arrow.csv"), ["a", "b", "motion"]);
  const sources: [string, () => FromArrowSource][] = [
    ["an IPC stream path", () => fixture("flat.arrows").pathname],
    ["an IPC file path", () => fixture("flat.arrow")],
    ["IPC stream bytes", () => fixtureBytes("flat.arrows")],
    ["IPC file bytes", () => fixtureBytes("flat.arrow").buffer],
    ["IPC stream chunks of 7 bytes", () => chunked(fixtureBytes("flat.arrows"), 7)],
    [
      "a ReadableStream of IPC stream chunks",
      () => ReadableStream.from(chunked(fixtureBytes("flat.arrows"), 1000)),
    ],
  ];
  for (const [what, source] of sources) {
    test(`reads ${what} beside string, int32 and boolean columns, value for value as the CSV holds them`, async () => {
      const batches = await collect(fromArrow(source(), { ...OPTIONS, batchSize: 25 }));
      assert.deepEqual(batches.map((b) => [b.firstRow, b.lastRow]), [
        [0, 24],
        [25, 49],
        [50, 74],
        [75, 99],
        [100, 124],
        [125, 149],
      ]);
      assert.deepEqual(batches[0]!.columns, { features: ["a", "b"], confounds: ["motion"] });
      assert.deepEqual(rowsOf(batches), rows);
    });
  }

  test("gives the CSV's correlations to 1e-15, batched across its record batches of 37 rows", async () => {
    const actual = await collect(
      correlateBatches(fromArrow(fixture("flat.arrows"), { ...OPTIONS, batchSize: 30 })),
    );
    const expected = await referenceResults(rows, 2, 30);
    assert.equal(actual.length, 5);
    assert.ok(resultsDiff(actual, expected) <= 1e-15, `${resultsDiff(actual, expected)}`);
  });

  test("each record batch's float columns are views of IPC bytes held in memory", async () => {
    const bytes = fixtureBytes("flat.arrows");
    const batches = await collect(fromArrow(bytes, { features: ["a"], confounds: ["motion"] }));
    assert.deepEqual(batches.map((b) => b.x.shape[0]), [37, 37, 37, 37, 2]);
    for (const batch of batches) {
      assert.equal(batch.x.data.buffer, bytes.buffer);
      assert.equal(batch.n.data.buffer, bytes.buffer);
    }
  });

  test('nulls "error" names the column, its type and the row; "skip-row" matches the CSV without those rows', async () => {
    const { error } = await outcome(fixture("flat_nulls.arrows"), OPTIONS);
    assert.ok(error instanceof TypeError, String(error));
    assert.match(error.message, /column "a" \(Float64\)/);
    assert.match(error.message, /at row 4\b/);
    const skipped: number[] = [];
    const batches = fromArrow(fixture("flat_nulls.arrows"), {
      ...OPTIONS,
      nulls: "skip-row",
      batchSize: 20,
      onSkippedRow: ({ row }) => skipped.push(row),
    });
    const actual = await collect(correlateBatches(batches));
    assert.deepEqual(skipped, [4, 40, 77]);
    const { rows: kept } = numericRows(readCsvFixture("flat_nulls.csv"), ["a", "b", "motion"]);
    assert.equal(kept.length, 147);
    const expected = await referenceResults(kept, 2, 20);
    assert.ok(resultsDiff(actual, expected) <= 1e-15, `${resultsDiff(actual, expected)}`);
  });

  test("another selected type goes to apache-arrow: Int32 is read, Utf8 and Bool are refused by name", async () => {
    const { rows: withSite } = numericRows(readCsvFixture("flat_arrow.csv"), [
      "a",
      "site",
      "motion",
    ]);
    const batches = await collect(
      fromArrow(fixtureBytes("flat.arrows"), { features: ["a", "site"], confounds: ["motion"] }),
    );
    assert.deepEqual(rowsOf(batches), withSite);
    for (const [column, type] of [["label", "Utf8"], ["flag", "Bool"]]) {
      const { error } = await outcome(fixture("flat.arrows"), {
        features: [column!],
        confounds: ["motion"],
      });
      assert.ok(error instanceof TypeError, String(error));
      assert.match(error.message, new RegExp(`column "${column}" .*current type is ${type}$`));
    }
  });

  test("record batches compressed midway go to apache-arrow from that batch on: an error there without a codec, the CSV's values with one", async () => {
    const { rows: all } = numericRows(readCsvFixture("lz4_tail.csv"), ["a", "b", "motion"]);
    const bare = await outcome(fixtureBytes("lz4_tail.arrows"), OPTIONS);
    assert.ok(bare.error instanceof BatchCorrError, String(bare.error));
    assert.equal(bare.error.code, "stream_batch_failed");
    assert.equal(bare.error.details.batch, 2);
    assert.match(
      bare.error.message,
      /at record batch 2 \(Record batch is compressed but codec not found\)/,
    );
    assert.deepEqual(rowsOf(bare.batches), all.slice(0, 74));
    compressionRegistry.set(CompressionType.LZ4_FRAME, { decode: decodeLz4Frame } as never);
    try {
      for (
        const source of [
          fixtureBytes("lz4_tail.arrows"),
          chunked(fixtureBytes("lz4_tail.arrows"), 500),
        ]
      ) {
        const batches = await collect(fromArrow(source, { ...OPTIONS, batchSize: 50 }));
        assert.deepEqual(batches.map((b) => b.firstRow), [0, 50, 100]);
        assert.deepEqual(rowsOf(batches), all);
      }
    } finally {
      compressionRegistry.set(CompressionType.LZ4_FRAME, null as never);
    }
  });
});

describe("fromArrow()'s own reader on cut and corrupt input", () => {
  const stream = fixtureBytes("flat.arrows");

  test("a stream cut at any byte yields the record batches before the cut, then, inside a message, an error naming the next", async () => {
    // Record batches of 37, 37, 37, 37 and 2 rows: the rows before the k-th.
    const before = [0, 37, 74, 111, 148, 150];
    let errors = 0;
    for (let cut = 0; cut < stream.length; cut++) {
      const { batches, error } = await outcome(stream.slice(0, cut), OPTIONS);
      const rows = batches.reduce((sum, b) => sum + b.x.shape[0]!, 0);
      if (error === undefined) {
        assert.equal(rows, before[batches.length], `cut ${cut}: ${rows} rows`);
        continue;
      }
      errors++;
      assert.ok(error instanceof BatchCorrError, `cut ${cut}: ${error}`);
      assert.equal(error.code, "stream_batch_failed");
      assert.equal(error.details.batch, batches.length, `cut ${cut}`);
      assert.equal(rows, before[batches.length]);
      assert.match(
        error.message,
        /^Cannot read Arrow IPC as the input must be a complete Arrow IPC stream or file: current value .* at record batch \d+ \(.+\)(; the input may be truncated or corrupt)?$/s,
      );
    }
    assert.ok(errors > stream.length * 0.9, `${errors} errors`);
  });

  /** Each message of a stream: where it starts, its metadata's length, and where it ends. */
  function messagesOf(bytes: Uint8Array): { start: number; metadata: number; end: number }[] {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const messages: { start: number; metadata: number; end: number }[] = [];
    for (let at = 0; at + 8 <= bytes.length;) {
      const length = view.getInt32(at + 4, true);
      if (length === 0) break;
      const header = new DataView(bytes.buffer, bytes.byteOffset + at + 8, length);
      const root = header.getUint32(0, true);
      const vtable = root - header.getInt32(root, true);
      // Message.bodyLength is field 3, absent (0) from a vtable of fewer fields.
      const bodyAt = header.getUint16(vtable, true) >= 12 ? header.getUint16(vtable + 10, true) : 0;
      const body = bodyAt === 0 ? 0 : Number(header.getBigInt64(root + bodyAt, true));
      messages.push({ start: at, metadata: length, end: at + 8 + length + body });
      at += 8 + length + body;
    }
    return messages;
  }

  /** Where each message's prefix and metadata lie, after the schema's (apache-arrow's to judge). */
  function metadataBytes(bytes: Uint8Array): number[] {
    return messagesOf(bytes).slice(1).flatMap(({ start, metadata }) =>
      Array.from({ length: 8 + metadata }, (_, i) => start + i)
    );
  }

  test("a second schema after the first record batch is an error naming that record batch", async () => {
    const [schema, first] = messagesOf(stream);
    const twice = new Uint8Array([
      ...stream.subarray(0, first!.end),
      ...stream.subarray(schema!.start, schema!.end),
      ...stream.subarray(first!.end),
    ]);
    const { batches, error } = await outcome(twice, OPTIONS);
    assert.equal(batches.length, 1);
    assert.ok(error instanceof BatchCorrError, String(error));
    assert.equal(error.code, "stream_batch_failed");
    assert.equal(error.details.batch, 1);
    assert.match(
      error.message,
      /could not be decoded at record batch 1 \(only record batches may follow the schema of a stream without dictionaries: found a second schema\)/,
    );
  });

  test("random corruption of record batch metadata reads or fails with the reader's own error, never another", async () => {
    const random = mulberry32(SEED);
    const positions = metadataBytes(stream);
    assert.ok(positions.length > 500, `${positions.length} metadata bytes`);
    let failed = 0;
    for (let run = 0; run < RUNS * 10; run++) {
      const bytes = stream.slice();
      for (let i = 1 + Math.floor(random() * 4); i > 0; i--) {
        bytes[positions[Math.floor(random() * positions.length)]!] = Math.floor(random() * 256);
      }
      const { error } = await outcome(bytes, OPTIONS);
      if (error === undefined) continue;
      failed++;
      assert.ok(
        error.message.startsWith(READ_PREFIX) &&
          (error instanceof BatchCorrError || error instanceof TypeError ||
            error instanceof RangeError),
        `run ${run}: ${error.name}: ${error.message}`,
      );
    }
    assert.ok(failed > 0, "no corruption was noticed");
  });
});

describe("fromArrow()'s own reader against apache-arrow's decoding", () => {
  const column = fc.record({
    precision: fc.constantFrom("Float64", "Float32"),
    nullable: fc.boolean(),
  });
  const table = fc.record({
    features: fc.array(column, { minLength: 1, maxLength: 4 }),
    chunks: fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 5 }),
    nullRate: fc.constantFrom(0, 0.05, 0.3),
    batchSize: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }),
    format: fc.constantFrom("stream" as const, "file" as const),
    seed: fc.integer(),
  });

  function build(spec: {
    features: { precision: string; nullable: boolean }[];
    chunks: number[];
    nullRate: number;
    seed: number;
  }): Table {
    const random = mulberry32(spec.seed);
    const fields = [
      ...spec.features.map((f, i) =>
        new Field(`f${i}`, f.precision === "Float64" ? new Float64() : new Float32(), f.nullable)
      ),
      new Field("motion", new Float64(), true),
    ];
    const schema = new Schema(fields);
    const batches = spec.chunks.map((rows) => {
      const children = fields.map((field) => {
        const values = Array.from(
          { length: rows },
          () => field.nullable && random() < spec.nullRate ? null : Math.fround(random() * 10 - 5),
        );
        return vectorFromArray(values, field.type).data[0]!;
      });
      const data = makeData({ type: new Struct(fields), length: rows, children });
      return new RecordBatch(schema, data);
    });
    return new Table(schema, batches);
  }

  test("random tables read as IPC bytes give the batches apache-arrow's record batches give, nulls skipped alike", async () => {
    await fc.assert(
      fc.asyncProperty(table, async (spec) => {
        const t = build(spec);
        const options = {
          confounds: ["motion"],
          nulls: "skip-row" as const,
          ...(spec.batchSize === undefined ? {} : { batchSize: spec.batchSize }),
        };
        const expected = await outcome(t, options);
        const actual = await outcome(tableToIPC(t, spec.format), options);
        assert.equal(String(actual.error), String(expected.error));
        assert.deepEqual(
          actual.batches.map((
            b,
          ) => [b.firstRow, b.lastRow, b.x.shape, Array.from(b.x.data), Array.from(b.n.data)]),
          expected.batches.map((
            b,
          ) => [b.firstRow, b.lastRow, b.x.shape, Array.from(b.x.data), Array.from(b.n.data)]),
        );
      }),
      { numRuns: RUNS * 3, seed: SEED },
    );
  });
});

describe("fromArrow()'s own reader recycling message bodies (reuseBuffers)", () => {
  /** An IPC stream of Float64 columns f0..f2 and motion, in record batches of the given sizes. */
  function wideFile(sizes: readonly number[], seed: number, nullRate: number) {
    const random = mulberry32(seed);
    const names = ["f0", "f1", "f2", "motion"];
    const fields = names.map((name) => new Field(name, new Float64(), true));
    const schema = new Schema(fields);
    const rows: (number | null)[][] = [];
    const batches = sizes.map((size) => {
      const block = Array.from(
        { length: size },
        () => names.map(() => random() < nullRate ? null : random() * 8 - 4),
      );
      rows.push(...block);
      const children = names.map((_, c) =>
        vectorFromArray(block.map((row) => row[c]!), new Float64()).data[0]!
      );
      return new RecordBatch(
        schema,
        makeData({ type: new Struct(fields), length: size, children }),
      );
    });
    // A stream: apache-arrow writes an IPC file without its leading schema message, which the flat reader
    // hands to apache-arrow.
    return { bytes: tableToIPC(new Table(schema, batches), "stream"), rows };
  }

  /** The file as a PositionalFile that notes every buffer a read of 64 KiB or more fills. */
  function positional(bytes: Uint8Array) {
    const filled: ArrayBufferLike[] = [];
    const file: PositionalFile = {
      size: bytes.length,
      read: (buffer, position) => {
        const part = bytes.subarray(position, position + buffer.length);
        buffer.set(part);
        if (buffer.length >= 1 << 16) filled.push(buffer.buffer);
        return part.length;
      },
      close: () => Promise.resolve(),
    };
    return { file, filled };
  }

  /** Every batch's rows, copied as they come (a reused buffer is only valid until the next). */
  async function copiedRows(batches: AsyncIterable<ColumnarBatch>): Promise<number[][]> {
    const rows: number[][] = [];
    for await (const batch of batches) rows.push(...rowsOf([batch]));
    return rows;
  }

  for (
    const [label, nullRate, batchSize] of [
      ["batches larger than a record batch", 0, 4000],
      ["batches smaller than a record batch", 0, 999],
      ["rows with nulls skipped", 0.001, 2500],
    ] as const
  ) {
    test(`${label}: the values are the file's, and the bodies' buffers are read into again`, async () => {
      const sizes = [2600, 3100, 2700, 3300, 2500, 3000, 2800, 3200, 2650, 3050];
      const { bytes, rows } = wideFile(sizes, 7 + batchSize, nullRate);
      const expected = rows.filter((row) => row.every((value) => value !== null)) as number[][];
      const options = {
        confounds: ["motion"],
        batchSize,
        nulls: "skip-row" as const,
        reuseBuffers: true,
      };
      const { file, filled } = positional(bytes);
      const actual = await copiedRows(fromArrowFile(file, "unused.arrows", options));
      assert.equal(actual.length, expected.length);
      const wrong = actual.findIndex((row, r) => row.some((value, c) => value !== expected[r]![c]));
      assert.equal(wrong, -1, `first row that differs: ${wrong}`);
      const distinct = new Set(filled).size;
      assert.equal(filled.length, sizes.length, "each body is one read of 64 KiB or more");
      assert.ok(distinct < sizes.length, `${distinct} buffers for ${sizes.length} bodies`);
      const kept = positional(bytes);
      await copiedRows(
        fromArrowFile(kept.file, "unused.arrows", { ...options, reuseBuffers: false }),
      );
      assert.equal(new Set(kept.filled).size, sizes.length, "without reuseBuffers, a buffer each");
    });
  }
});
