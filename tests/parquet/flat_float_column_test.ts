import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parquetMetadata, parquetScan, parquetSchema } from "hyparquet";
import { fromParquet, type ParquetByteSource } from "../../src/parquet/mod.ts";
import { flatChunkReader } from "../../src/parquet/_flat_chunk_reader.ts";
import { openParquetFile } from "../../src/parquet/_file_buffer.ts";
import { snappyDecompress } from "../../src/parquet/_snappy.ts";
import { collect, fixture, fixtureBytes, readCsvFixture } from "../arrow/columnar_fixtures.ts";

const COLUMNS = ["req64", "opt64", "req32", "opt32", "motion"];

function source(bytes: Uint8Array): ParquetByteSource {
  return { byteLength: bytes.byteLength, slice: (start, end) => bytes.slice(start, end).buffer };
}

/** Every chunk through the fast path (undefined where it declines) and through hyparquet. */
async function bothPaths(
  bytes: Uint8Array,
  columns: readonly string[],
  file: ParquetByteSource = source(bytes),
) {
  const metadata = parquetMetadata(bytes.slice().buffer);
  const read = flatChunkReader(metadata, parquetSchema(metadata), file);
  const scan = await parquetScan({ file, metadata, columns: [...columns] });
  const out = [];
  for (const [group, range] of scan.ranges.entries()) {
    for (const column of columns) {
      const fast = await read(group, range, column);
      const reference = await scan.readColumn({ column, ...range });
      out.push({
        group,
        column,
        range,
        fast,
        reference: Array.from(reference as ArrayLike<unknown>),
      });
    }
  }
  return out;
}

function bits(values: ArrayLike<number>): string {
  return Array.from(values, (v) => Object.is(v, -0) ? "-0" : String(v)).join(",");
}

describe("the Parquet flat-column fast path", () => {
  for (const name of ["flat_v1.parquet", "flat_v2.parquet"]) {
    test(`reads every chunk of ${name} (pyarrow) with hyparquet's values, bit for bit`, async () => {
      const chunks = await bothPaths(fixtureBytes(name), COLUMNS);
      assert.ok(chunks.length >= COLUMNS.length);
      for (const { group, column, fast, reference } of chunks) {
        assert.ok(fast, `${name} row group ${group} column ${column} took the fast path`);
        assert.equal(fast.constructor, column.endsWith("32") ? Float32Array : Float64Array);
        assert.equal(bits(fast), bits(reference as number[]), `${name} ${group} ${column}`);
      }
    });

    test(`reads ${name} by path and from bytes, one chunk after another into the same memory, with hyparquet's values`, async () => {
      for (
        const opened of [
          await openParquetFile(fixture(name)),
          await openParquetFile(fixtureBytes(name)),
        ]
      ) {
        try {
          const chunks = await bothPaths(fixtureBytes(name), COLUMNS, opened.buffer);
          for (const { group, column, fast, reference } of chunks) {
            assert.ok(fast, `${name} row group ${group} column ${column} took the fast path`);
            assert.equal(bits(fast), bits(reference as number[]), `${name} ${group} ${column}`);
          }
        } finally {
          await opened.close();
        }
      }
    });

    test(`gives ${name}'s CSV twin through fromParquet, -0 and subnormals included`, async () => {
      const csv = readCsvFixture("flat.csv");
      const batches = await collect(
        fromParquet(fixture(name), {
          features: COLUMNS.slice(0, 4),
          confounds: ["motion"],
          batchSize: 300,
        }),
      );
      assert.equal(batches.length, 1);
      const batch = batches[0]!;
      const x = batch.x.data;
      for (let r = 0; r < 300; r++) {
        for (let f = 0; f < 4; f++) {
          const expected = csv.rows[r]![csv.header.indexOf(COLUMNS[f]!)] as number;
          assert.ok(
            Object.is(x[r * 4 + f], expected),
            `row ${r} ${COLUMNS[f]}: ${x[r * 4 + f]} vs ${expected}`,
          );
        }
      }
    });
  }

  test("declines the chunks that hold nulls or are not floats, which hyparquet then reads", async () => {
    const chunks = await bothPaths(fixtureBytes("nulls.parquet"), ["x", "y", "motion"]);
    const withNulls = chunks.filter(({ reference }) => reference.some((v) => v === null));
    assert.ok(withNulls.length > 0, "the fixture has chunks with nulls");
    for (const chunk of withNulls) {
      assert.equal(chunk.fast, undefined, `${chunk.column} ${chunk.group}`);
    }
    for (const { fast, reference, column } of chunks) {
      if (fast) assert.equal(bits(fast), bits(reference as number[]), column);
    }
    const ints = await bothPaths(fixtureBytes("drift.parquet"), ["f_d", "f_e", "age"]);
    for (const { fast, column } of ints) {
      assert.equal(fast, undefined, `${column} is an integer column`);
    }
    const floats = await bothPaths(fixtureBytes("drift.parquet"), ["f_a", "f_b", "f_c", "motion"]);
    for (const { fast, reference, column } of floats) {
      assert.ok(fast, `${column} (dictionary and plain pages, small pages) takes the fast path`);
      assert.equal(bits(fast), bits(reference as number[]), column);
    }
  });

  test("declines, without reading it, a chunk whose statistics count nulls", async () => {
    const bytes = fixtureBytes("nulls.parquet");
    const metadata = parquetMetadata(bytes.slice().buffer);
    const reads: number[] = [];
    const file: ParquetByteSource = {
      byteLength: bytes.byteLength,
      slice: (start, end) => (reads.push(start), bytes.slice(start, end).buffer),
    };
    const read = flatChunkReader(metadata, parquetSchema(metadata), file);
    let rowStart = 0;
    let declined = 0;
    for (const [group, rowGroup] of metadata.row_groups.entries()) {
      const rows = Number(rowGroup.num_rows);
      for (const chunk of rowGroup.columns) {
        const meta = chunk.meta_data!;
        if (!(meta.statistics?.null_count !== undefined && meta.statistics.null_count > 0n)) {
          continue;
        }
        const before = reads.length;
        const column = meta.path_in_schema[0]!;
        assert.equal(await read(group, { rowStart, rowEnd: rowStart + rows }, column), undefined);
        assert.equal(reads.length, before, `${column} in row group ${group} was not read`);
        declined++;
      }
      rowStart += rows;
    }
    assert.ok(declined > 0, "the fixture has chunks whose statistics count nulls");
  });

  test("declines a chunk whose page is corrupt instead of throwing, so the error stays hyparquet's", async () => {
    const bytes = fixtureBytes("flat_v1.parquet").slice();
    const metadata = parquetMetadata(bytes.slice().buffer);
    const meta = metadata.row_groups[0]!.columns[0]!.meta_data!;
    const start = Number(meta.data_page_offset);
    for (let at = start; at < start + 40; at++) bytes[at] = 0xff;
    const read = flatChunkReader(metadata, parquetSchema(metadata), source(bytes));
    assert.equal(await read(0, { rowStart: 0, rowEnd: 128 }, "req64"), undefined);
    assert.ok(
      await read(0, { rowStart: 0, rowEnd: 128 }, "opt64"),
      "the other chunks still take it",
    );
    assert.equal(
      await read(0, { rowStart: 0, rowEnd: 100 }, "opt64"),
      undefined,
      "a partial row group",
    );
  });
});

describe("snappyDecompress()", () => {
  const blocks = JSON.parse(readFileSync(fixture("snappy_blocks.json"), "utf8")) as {
    compressed: string;
    original: string;
  }[];
  const decode = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

  test("restores blocks that pyarrow compressed: literals, long literals, near, far and overlapping copies", () => {
    for (const block of blocks) {
      const original = decode(block.original);
      assert.deepEqual(snappyDecompress(decode(block.compressed), original.length), original);
    }
  });

  test("decompresses into given memory when it is large enough, and is not fooled by what it held", () => {
    const block = blocks[6]!;
    const original = decode(block.original);
    const into = new Uint8Array(original.length + 10).fill(7);
    const out = snappyDecompress(decode(block.compressed), original.length, into);
    assert.equal(out.buffer, into.buffer);
    assert.deepEqual(out, original);
  });

  test("refuses a truncated block, a wrong stated size and a copy from before the start", () => {
    const compressed = decode(blocks[7]!.compressed);
    const size = decode(blocks[7]!.original).length;
    assert.throws(
      () => snappyDecompress(compressed.subarray(0, compressed.length - 5), size),
      RangeError,
    );
    assert.throws(
      () => snappyDecompress(compressed, size + 1),
      /a length of \d+ bytes where \d+ are stated/,
    );
    // Preamble 4, then a 2-byte-offset copy of 4 bytes from offset 1 with nothing written yet.
    assert.throws(() => snappyDecompress(Uint8Array.of(4, 0b00001110, 1, 0), 4), /a copy is not/);
  });
});
