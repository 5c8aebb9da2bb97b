import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  openParquetFile,
  type RangeReadable,
  READ_RANGE,
  readRangeReusing,
} from "../../src/parquet/_file_buffer.ts";
import { fixture, fixtureBytes } from "../arrow/columnar_fixtures.ts";

const NAME = "flat_v1.parquet";

describe("openParquetFile()", () => {
  for (const synchronous of [false, true]) {
    test(`a path${synchronous ? ", read with blocking reads," : ""} reads ranges into one reused buffer, grown when a range is longer, and counts the bytes`, async () => {
      const bytes = fixtureBytes(NAME);
      let counted = 0;
      const opened = await openParquetFile(fixture(NAME), {
        onRead: (read) => (counted += read),
        synchronous,
      });
      try {
        const scratch = { bytes: new Uint8Array(0) };
        const first = await readRangeReusing(opened.buffer, 100, 400, scratch);
        assert.deepEqual(first, bytes.subarray(100, 400));
        const second = await readRangeReusing(opened.buffer, 4, 104, scratch);
        assert.deepEqual(second, bytes.subarray(4, 104));
        assert.equal(second.buffer, first.buffer, "a shorter range reuses the buffer");
        const whole = await readRangeReusing(opened.buffer, 0, bytes.length, scratch);
        assert.deepEqual(whole, bytes);
        assert.notEqual(whole.buffer, first.buffer, "a longer range grows it");
        const tail = await readRangeReusing(opened.buffer, -8, undefined as unknown as number, {
          bytes: new Uint8Array(0),
        });
        assert.deepEqual(tail, bytes.subarray(bytes.length - 8));
        const sliced = new Uint8Array(await opened.buffer.slice(10, 20));
        assert.deepEqual(sliced, bytes.subarray(10, 20));
        assert.equal(counted, 300 + 100 + bytes.length + 8 + 10);
      } finally {
        await opened.close();
        await opened.close();
      }
    });
  }

  test("a range past the end of a path is clamped to the end, as slice clamps it", async () => {
    const opened = await openParquetFile(fixture(NAME));
    try {
      const size = opened.buffer.byteLength;
      const source = opened.buffer as RangeReadable;
      assert.equal(
        (await source[READ_RANGE](size - 4, size + 100, { bytes: new Uint8Array(0) })).length,
        4,
      );
    } finally {
      await opened.close();
    }
  });

  test("bytes in memory are read as views, never copied; an ArrayBuffer likewise", async () => {
    const bytes = fixtureBytes(NAME);
    for (const input of [bytes, bytes.buffer]) {
      const opened = await openParquetFile(input);
      const view = await readRangeReusing(opened.buffer, 50, 90, { bytes: new Uint8Array(0) });
      assert.equal(view.buffer, bytes.buffer);
      assert.equal(view.byteOffset, bytes.byteOffset + 50);
      assert.deepEqual(view, bytes.subarray(50, 90));
      const copy = await opened.buffer.slice(50, 90);
      assert.notEqual(copy, bytes.buffer);
      assert.deepEqual(new Uint8Array(copy), bytes.subarray(50, 90));
    }
  });

  test("a byte source of the caller's own is read through its slice, even with a method of the same name", async () => {
    const bytes = fixtureBytes(NAME);
    const slices: [number, number][] = [];
    const source = {
      byteLength: bytes.length,
      readRange: () => assert.fail("a string-named method is never called"),
      slice: (
        start: number,
        end?: number,
      ) => (slices.push([start, end!]), bytes.slice(start, end).buffer),
    };
    const opened = await openParquetFile(source);
    assert.equal(opened.buffer, source);
    const read = await readRangeReusing(opened.buffer, 7, 70, { bytes: new Uint8Array(0) });
    assert.deepEqual(read, bytes.subarray(7, 70));
    assert.deepEqual(slices, [[7, 70]]);
  });
});
