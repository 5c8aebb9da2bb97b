/**
 * The Parquet reader that streams a row group a slice at a time (with
 * reuseBuffers and a batch size): against the formulas the fixtures were
 * written from by pyarrow (scripts/gen_columnar_fixtures.py, `streamed()`),
 * through fromParquet and through the stream alone, where a later page makes
 * it hand the chunk to the whole-chunk readers, and its Snappy fragment
 * decoder on streams built here.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parquetMetadata, parquetSchema } from "hyparquet";
import { fromParquet } from "../../src/parquet/mod.ts";
import type { ColumnarBatch, SkippedRow } from "../../src/arrow/columnar_options.ts";
import { streamedChunkReader } from "../../src/parquet/_flat_chunk_reader.ts";
import { openParquetFile } from "../../src/parquet/_file_buffer.ts";
import {
  SNAPPY_FRAGMENT,
  snappyDecompress,
  snappyFragment,
  snappyPreamble,
} from "../../src/parquet/_snappy.ts";
import { fixture, fixtureBytes } from "../arrow/columnar_fixtures.ts";
import { mulberry32 } from "../random.ts";

const ROWS = 14_000;

/** The value the fixture script wrote for a column at row r (exact in float64; h32 in float32). */
function value(column: string, r: number): number | null {
  if (column === "h64") return ((r * 2654435761 + 12345) % 2 ** 32 - 2 ** 31) / 2 ** 20;
  if (column === "h32") return ((r * 40503 + 777) % 2 ** 24 - 2 ** 23) / 2 ** 10;
  if (column === "r64") return (r % 97) * 0.5 - 20;
  if (column === "motion") return ((r * 31) % 101) / 8;
  return r === 10_500 ? null : (r % 53) * 0.25;
}

/** Rows [features..., confounds...] of each batch, copied as they come. */
async function copiedRows(batches: AsyncIterable<ColumnarBatch>): Promise<number[][]> {
  const rows: number[][] = [];
  for await (const batch of batches) {
    const [count, features] = batch.x.shape as [number, number];
    const confounds = batch.n.shape[0] as number;
    for (let r = 0; r < count; r++) {
      rows.push([
        ...batch.x.data.subarray(r * features, (r + 1) * features),
        ...Array.from({ length: confounds }, (_, m) => batch.n.data[m * count + r]!),
      ]);
    }
  }
  return rows;
}

function expectedRows(columns: readonly string[]): number[][] {
  const rows: number[][] = [];
  for (let r = 0; r < ROWS; r++) {
    const row = columns.map((column) => value(column, r));
    if (row.every((v) => v !== null)) rows.push(row as number[]);
  }
  return rows;
}

function firstDifference(actual: number[][], expected: number[][]): number {
  if (actual.length !== expected.length) return Math.min(actual.length, expected.length);
  return actual.findIndex((row, r) => row.some((v, c) => !Object.is(v, expected[r]![c])));
}

describe("fromParquet() streaming row groups (reuseBuffers and a batch size)", () => {
  for (const name of ["streamed_v1.parquet", "streamed_v2.parquet"]) {
    for (const batchSize of [100, 1024, 2999, 12_000, 20_000]) {
      test(`gives ${name}'s values in batches of ${batchSize}, as without reuseBuffers`, async () => {
        const options = { features: ["h64", "h32", "r64"], confounds: ["motion"], batchSize };
        const expected = expectedRows(["h64", "h32", "r64", "motion"]);
        const streamed = await copiedRows(
          fromParquet(fixture(name), { ...options, reuseBuffers: true }),
        );
        assert.equal(firstDifference(streamed, expected), -1);
        const whole = await copiedRows(fromParquet(fixture(name), options));
        assert.equal(firstDifference(whole, expected), -1);
      });
    }
  }

  test("a null in a later page, in a chunk without statistics, is found after the stream hands the chunk over", async () => {
    const options = {
      features: ["h64", "late"],
      confounds: ["motion"],
      batchSize: 1000,
      nulls: "skip-row" as const,
    };
    const expected = expectedRows(["h64", "late", "motion"]);
    assert.equal(expected.length, ROWS - 1);
    for (const reuseBuffers of [true, false]) {
      const skipped: SkippedRow[] = [];
      const rows = await copiedRows(
        fromParquet(fixture("streamed_v1.parquet"), {
          ...options,
          reuseBuffers,
          onSkippedRow: (row) => skipped.push(row),
        }),
      );
      assert.equal(firstDifference(rows, expected), -1, `reuseBuffers ${reuseBuffers}`);
      assert.deepEqual(skipped, [{ row: 10_500, column: "late" }]);
    }
    const errors = await Promise.all([true, false].map(async (reuseBuffers) => {
      try {
        await copiedRows(
          fromParquet(fixture("streamed_v1.parquet"), { ...options, nulls: "error", reuseBuffers }),
        );
        return undefined;
      } catch (error) {
        return error as Error;
      }
    }));
    assert.ok(errors[0] instanceof TypeError);
    assert.match(errors[0].message, /column "late" \(DOUBLE\).* null at row 10500/);
    assert.equal(errors[0].message, errors[1]?.message);
  });

  test("a file in memory streams too, from views of its bytes", async () => {
    const rows = await copiedRows(
      fromParquet(fixtureBytes("streamed_v2.parquet"), {
        features: ["h32"],
        confounds: ["motion", "r64"],
        batchSize: 333,
        reuseBuffers: true,
      }),
    );
    assert.equal(firstDifference(rows, expectedRows(["h32", "motion", "r64"])), -1);
  });
});

describe("StreamedFloatColumn", () => {
  async function streamsOf(name: string) {
    const bytes = fixtureBytes(name);
    const metadata = parquetMetadata(bytes.slice().buffer);
    const opened = await openParquetFile(fixture(name));
    const open = streamedChunkReader(metadata, parquetSchema(metadata), opened.buffer);
    return { open, close: opened.close };
  }

  for (const name of ["streamed_v1.parquet", "streamed_v2.parquet"]) {
    test(`fills ${name}'s first row group in uneven slices with the values written`, async () => {
      const { open, close } = await streamsOf(name);
      try {
        const random = mulberry32(name.length);
        for (const column of ["h64", "h32", "r64", "motion"]) {
          const stream = open(0, { rowStart: 0, rowEnd: 12_000 }, column);
          assert.ok(stream, `${column} is streamed`);
          assert.equal(stream.double, column !== "h32");
          let row = 0;
          while (row < 12_000) {
            const count = Math.min(12_000 - row, 1 + Math.floor(random() * 5000));
            const out: Float64Array | Float32Array = stream.double
              ? new Float64Array(count)
              : new Float32Array(count);
            assert.ok(await stream.fill(out, count), `${column} rows ${row}..${row + count}`);
            for (let i = 0; i < count; i++) {
              if (!Object.is(out[i], value(column, row + i))) {
                assert.fail(`${column} row ${row + i}: ${out[i]} vs ${value(column, row + i)}`);
              }
            }
            row += count;
          }
          assert.equal(await stream.fill(new Float64Array(1), 1), false, "nothing past the end");
        }
      } finally {
        await close();
      }
    });
  }

  test("stops with false at the page holding a null, having given the first page's values", async () => {
    const { open, close } = await streamsOf("streamed_v1.parquet");
    try {
      const stream = open(0, { rowStart: 0, rowEnd: 12_000 }, "late")!;
      const first = new Float64Array(9000);
      assert.ok(await stream.fill(first, 9000));
      assert.equal(first[8999], value("late", 8999));
      assert.equal(await stream.fill(new Float64Array(10), 10), false);
    } finally {
      await close();
    }
  });

  test("declines a range that is not a whole row group, and an unknown column", async () => {
    const { open, close } = await streamsOf("streamed_v2.parquet");
    try {
      assert.equal(open(0, { rowStart: 0, rowEnd: 100 }, "h64"), undefined);
      assert.equal(open(1, { rowStart: 12_000, rowEnd: 14_000 }, "nope"), undefined);
      assert.ok(open(1, { rowStart: 12_000, rowEnd: 14_000 }, "h64"));
    } finally {
      await close();
    }
  });
});

describe("snappyFragment()", () => {
  /** A Snappy stream written here: literals of at most 60 bytes and 2-byte-offset copies. */
  function encode(elements: ({ literal: Uint8Array } | { copy: number; offset: number })[]) {
    const out: number[] = [];
    let length = 0;
    for (const element of elements) {
      if ("literal" in element) {
        out.push((element.literal.length - 1) << 2, ...element.literal);
        length += element.literal.length;
      } else {
        out.push(((element.copy - 1) << 2) | 2, element.offset & 0xff, element.offset >> 8);
        length += element.copy;
      }
    }
    const preamble: number[] = [];
    for (let rest = length;; rest = Math.floor(rest / 128)) {
      if (rest < 128) {
        preamble.push(rest);
        break;
      }
      preamble.push((rest % 128) | 128);
    }
    return { stream: Uint8Array.from([...preamble, ...out]), length };
  }

  /** Independent fragments: random literals and copies within the fragment, `fragments` long. */
  function fragmentedStream(random: () => number, sizes: readonly number[]) {
    const elements: ({ literal: Uint8Array } | { copy: number; offset: number })[] = [];
    for (const size of sizes) {
      let written = 0;
      while (written < size) {
        const room = size - written;
        if (written >= 64 && random() < 0.4) {
          const copy = Math.min(room, 4 + Math.floor(random() * 60));
          elements.push({ copy, offset: 1 + Math.floor(random() * Math.min(written, 65535)) });
          written += copy;
        } else {
          const length = Math.min(room, 1 + Math.floor(random() * 60));
          elements.push({
            literal: Uint8Array.from({ length }, () => Math.floor(random() * 256)),
          });
          written += length;
        }
      }
    }
    return encode(elements);
  }

  function decodeByFragments(stream: Uint8Array): Uint8Array | undefined {
    const preamble = snappyPreamble(stream)!;
    const out = new Uint8Array(preamble.length);
    const block = new Uint8Array(SNAPPY_FRAGMENT);
    let at = preamble.size;
    for (let produced = 0; produced < preamble.length;) {
      const length = Math.min(SNAPPY_FRAGMENT, preamble.length - produced);
      const used = snappyFragment(stream.subarray(at), block, length);
      if (used < 0) return undefined;
      out.set(block.subarray(0, length), produced);
      produced += length;
      at += used;
    }
    return at === stream.length ? out : undefined;
  }

  test("decodes independent 64 KiB fragments one at a time, as snappyDecompress does whole", () => {
    const random = mulberry32(11);
    for (const sizes of [[SNAPPY_FRAGMENT, SNAPPY_FRAGMENT, 1234], [SNAPPY_FRAGMENT], [77]]) {
      const { stream, length } = fragmentedStream(random, sizes);
      const whole = snappyDecompress(stream, length);
      assert.deepEqual(decodeByFragments(stream), whole);
    }
  });

  test("refuses a copy reaching into the previous fragment, an element across its end, and a cut", () => {
    const random = mulberry32(12);
    const literal = (length: number) => ({
      literal: Uint8Array.from({ length }, () => Math.floor(random() * 256)),
    });
    const fill = Array.from({ length: SNAPPY_FRAGMENT / 32 }, () => literal(32));
    const reaching = encode([...fill, literal(10), { copy: 8, offset: 20 }]);
    assert.deepEqual(
      snappyDecompress(reaching.stream, reaching.length).length,
      reaching.length,
      "valid Snappy",
    );
    assert.equal(decodeByFragments(reaching.stream), undefined);
    const across = encode([...fill.slice(1), literal(30), { copy: 8, offset: 40 }]);
    assert.equal(across.length, SNAPPY_FRAGMENT + 6);
    assert.equal(decodeByFragments(across.stream), undefined);
    const { stream } = fragmentedStream(random, [SNAPPY_FRAGMENT, 100]);
    assert.equal(decodeByFragments(stream.subarray(0, stream.length - 3)), undefined);
  });
});

describe("StreamedFloatColumn on a byte source that gives short reads", () => {
  test("a raw run read short ends the stream instead of giving stale bytes", async () => {
    const bytes = fixtureBytes("streamed_v1.parquet");
    const metadata = parquetMetadata(bytes.slice().buffer);
    const h32 = metadata.row_groups[0]!.columns.find((c) =>
      c.meta_data?.path_in_schema[0] === "h32"
    )!
      .meta_data!;
    const start = Number(h32.data_page_offset);
    const end = start + Number(h32.total_compressed_size);
    // Reads that reach past the middle of h32's chunk come back cut there.
    const cut = (start + end) >> 1;
    const source = {
      byteLength: bytes.length,
      slice: (from: number, to?: number) => {
        const stop = to ?? bytes.length;
        return bytes.slice(from, from < cut && stop > cut ? cut : stop).buffer;
      },
    };
    const open = streamedChunkReader(metadata, parquetSchema(metadata), source);
    const stream = open(0, { rowStart: 0, rowEnd: 12_000 }, "h32")!;
    assert.equal(await stream.fill(new Float32Array(12_000), 12_000), false);
  });
});
