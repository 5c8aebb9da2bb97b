import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { batchCorr, correlateBatches, type Row, type RowBatch, rowsToBatches } from "../../mod.ts";

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

const records = Array.from(
  { length: 7 },
  (_, i) => ({ age: 20 + i, a: i * 0.5, motion: (i * 37) % 11, b: (i * i) % 5 }),
);

describe("rowsToBatches", () => {
  test("groups records into (B, F) features and (M, B) confounds, emitting the last partial batch", async () => {
    const batches = await collect(
      rowsToBatches(records, { batchSize: 3, confounds: ["motion", "age"] }),
    );
    assert.deepEqual(batches.map((b) => [b.x.shape, b.n.shape]), [
      [[3, 2], [2, 3]],
      [[3, 2], [2, 3]],
      [[1, 2], [2, 1]],
    ]);
    // Features default to the first row's other keys in order: a, b.
    assert.deepEqual(Array.from(batches[0]!.x.data), [0, 0, 0.5, 1, 1, 4]);
    assert.deepEqual(Array.from(batches[1]!.n.data), [
      records[3]!.motion,
      records[4]!.motion,
      records[5]!.motion,
      23,
      24,
      25,
    ]);
    assert.deepEqual(Array.from(batches[2]!.x.data), [3, records[6]!.b]);
    assert.deepEqual(Array.from(batches[2]!.n.data), [records[6]!.motion, 26]);
  });

  test('partial "drop" discards the rows of the last partial batch', async () => {
    const batches = await collect(
      rowsToBatches(records, { batchSize: 3, confounds: ["motion"], partial: "drop" }),
    );
    assert.equal(batches.length, 2);
    const exact = await collect(
      rowsToBatches(records.slice(0, 6), { batchSize: 3, confounds: ["motion"] }),
    );
    assert.equal(exact.length, 2);
  });

  test("array rows with explicit feature and confound indices", async () => {
    const rows = [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]];
    const batches = await collect(
      rowsToBatches(rows, { batchSize: 2, features: [2, 0], confounds: [1] }),
    );
    assert.deepEqual(Array.from(batches[1]!.x.data), [9, 7, 12, 10]);
    assert.deepEqual(Array.from(batches[1]!.n.data), [8, 11]);
    const defaults = await collect(rowsToBatches(rows, { batchSize: 4, confounds: [1] }));
    assert.deepEqual(defaults[0]!.x.shape, [4, 2]);
    assert.deepEqual(Array.from(defaults[0]!.x.data.subarray(0, 2)), [1, 3]);
  });

  test("emitted batches are independent of later ones", async () => {
    const rows = Array.from({ length: 4 }, (_, i) => [i, -i]);
    const batches = await collect(rowsToBatches(rows, { batchSize: 2, confounds: [1] }));
    assert.deepEqual(Array.from(batches[0]!.x.data), [0, 1]);
    assert.notEqual(batches[0]!.x.data.buffer, batches[1]!.x.data.buffer);
  });

  test("feeds correlateBatches: the running view equals batchCorr of all rows", async () => {
    const rows = Array.from(
      { length: 23 },
      (_, i) => ({
        f1: Math.sin(i),
        f2: Math.cos(i * 1.3) + i * 0.1,
        motion: Math.sin(i * 0.7) + i * 0.05,
      }),
    );
    const results = await collect(
      correlateBatches(rowsToBatches(rows, { batchSize: 5, confounds: ["motion"] }), {
        abs: false,
      }),
    );
    assert.deepEqual(results.map((r) => r.batchSize), [5, 5, 5, 5, 3]);
    const X = rows.map((r) => [r.f1, r.f2]);
    const expected = batchCorr(X, rows.map((r) => r.motion), { abs: false });
    const running = results.at(-1)!.running.correlations!;
    expected.data.forEach((r, i) => assert.ok(Math.abs(r - running.data[i]!) <= 1e-12));
  });

  test("reads a ReadableStream of rows and cancels it when the consumer stops", async () => {
    let cancelled = false;
    let i = 0;
    const rows = new ReadableStream<Row>({
      pull(controller) {
        controller.enqueue([i, i * 2, i++ % 3]);
      },
      cancel() {
        cancelled = true;
      },
    });
    const batches: RowBatch[] = [];
    for await (const batch of rowsToBatches(rows, { batchSize: 4, confounds: [2] })) {
      batches.push(batch);
      if (batches.length === 2) break;
    }
    assert.equal(cancelled, true);
    assert.deepEqual(Array.from(batches[1]!.n.data), [1, 2, 0, 1]);
  });

  test("a row missing a column or holding a non-number throws with the row index", async () => {
    const rows: Row[] = [{ a: 1, m: 2 }, { a: 3, m: 4 }, { a: 5 } as Row];
    await assert.rejects(
      collect(rowsToBatches(rows, { batchSize: 2, confounds: ["m"] })),
      (e) =>
        e instanceof TypeError &&
        /row 2 column "m" must be a number: current value is undefined/.test(e.message),
    );
    await assert.rejects(
      collect(
        rowsToBatches([{ a: "1", m: 2 } as unknown as Row], { batchSize: 2, confounds: ["m"] }),
      ),
      (e) =>
        e instanceof TypeError &&
        /row 0 column "a" must be a number: current value is "1"/.test(e.message),
    );
    await assert.rejects(
      collect(rowsToBatches([[1, 2], [3]], { batchSize: 2, confounds: [1] })),
      /row 1 column 1/,
    );
    await assert.rejects(
      collect(rowsToBatches([{ m: 1 }], { batchSize: 2, confounds: ["m"] })),
      /at least one column besides/,
    );
    await assert.rejects(
      collect(rowsToBatches([null as unknown as Row], { batchSize: 2, confounds: [0] })),
      /row 0 must be a record/,
    );
  });

  test("options are validated immediately", () => {
    assert.throws(() => rowsToBatches(records, { batchSize: 0, confounds: ["age"] }), RangeError);
    assert.throws(() => rowsToBatches(records, { batchSize: 2.5, confounds: ["age"] }), RangeError);
    assert.throws(() => rowsToBatches(records, { batchSize: 2, confounds: [] }), RangeError);
    assert.throws(() => rowsToBatches(records, { batchSize: 2 } as never), TypeError);
    assert.throws(
      () => rowsToBatches(records, { batchSize: 2, confounds: ["age"], partial: "keep" } as never),
      TypeError,
    );
    assert.throws(() => rowsToBatches(5 as never, { batchSize: 2, confounds: ["age"] }), TypeError);
  });

  test("refuses a column named twice, or as both a feature and a confound, naming it", () => {
    const cases: [Parameters<typeof rowsToBatches>[1], RegExp][] = [
      [{ batchSize: 2, confounds: ["age", "age"] }, /"age" twice in options.confounds$/],
      [
        { batchSize: 2, features: ["a", "a"], confounds: ["age"] },
        /"a" twice in options.features$/,
      ],
      [{ batchSize: 2, features: ["a", "age"], confounds: ["age"] }, /"age" in both features/],
      [{ batchSize: 2, features: [0, 1], confounds: ["1"] }, /"1" in both features and confounds$/],
    ];
    for (const [options, message] of cases) {
      assert.throws(
        () => rowsToBatches(records, options),
        (e: unknown) =>
          e instanceof RangeError &&
          /must be named once among features and confounds/.test(e.message) &&
          message.test(e.message),
        JSON.stringify(options),
      );
    }
  });

  test("a batchSize of 2**31 costs only the rows given: four rows make one batch equal to batchSize 4", async () => {
    const rows = records.slice(0, 4);
    const [huge] = await collect(
      rowsToBatches(rows, { batchSize: 2 ** 31, confounds: ["motion"] }),
    );
    const [exact] = await collect(rowsToBatches(rows, { batchSize: 4, confounds: ["motion"] }));
    assert.deepEqual(huge!.x.shape, [4, 3]);
    assert.deepEqual(huge, exact);
  });

  test("room that grows as rows arrive keeps every value in place, full batches and the partial one", async () => {
    // 2600 rows in batches of 2500: the room doubles from 1024 twice (and is capped at 2500).
    const many = Array.from({ length: 2600 }, (_, i) => [i, -i, i * 0.5, 1000 + i]);
    const batches = await collect(rowsToBatches(many, { batchSize: 2500, confounds: [3, 1] }));
    assert.deepEqual(batches.map((b) => [b.x.shape, b.n.shape]), [
      [[2500, 2], [2, 2500]],
      [[100, 2], [2, 100]],
    ]);
    let row = 0;
    for (const batch of batches) {
      const B = batch.x.shape[0];
      for (let b = 0; b < B; b++, row++) {
        const expected = many[row]!;
        assert.equal(batch.x.data[2 * b], expected[0]);
        assert.equal(batch.x.data[2 * b + 1], expected[2]);
        assert.equal(batch.n.data[b], expected[3]);
        assert.equal(batch.n.data[B + b], expected[1]);
      }
    }
    assert.equal(row, many.length);
  });
});
