import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { RecordBatchReader, Table, tableFromIPC, tableToIPC } from "apache-arrow";
import { correlateBatches } from "../../mod.ts";
import { type ArrowIpcColumn, fromArrow, toArrowIpc } from "../../src/arrow/mod.ts";
import { fixture } from "./columnar_fixtures.ts";

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail("expected a rejection");
}

const COLUMNS: ArrowIpcColumn[] = [
  { name: "index", type: "int64", nullable: false },
  { name: "batchSize", type: "int32" },
  { name: "loss", type: "float64" },
  { name: "alert", type: "bool" },
  { name: "skipped", type: "utf8" },
  { name: "correlations", type: "float64[]" },
];

const RECORDS = [
  {
    index: 0,
    batchSize: 100,
    loss: 0.25,
    alert: false,
    correlations: new Float64Array([0.5, -0.25]),
  },
  {
    index: 1,
    batchSize: 100,
    loss: Number.NaN,
    alert: true,
    skipped: "a non-finite value",
    correlations: null,
  },
  { index: 2n ** 60n, batchSize: -3, loss: -Infinity, alert: null, correlations: [1, 2, 3] },
];

describe("toArrowIpc()", () => {
  test("writes the records as an IPC stream apache-arrow reads back, value for value and null for null", async () => {
    const table = tableFromIPC(await bytesOf(toArrowIpc(RECORDS, { columns: COLUMNS })));
    assert.deepEqual(table.schema.fields.map((f) => [f.name, String(f.type), f.nullable]), [
      ["index", "Int64", false],
      ["batchSize", "Int32", true],
      ["loss", "Float64", true],
      ["alert", "Bool", true],
      ["skipped", "Utf8", true],
      ["correlations", "List<Float64>", true],
    ]);
    assert.deepEqual(Array.from(table.getChild("index")!), [0n, 1n, 2n ** 60n]);
    assert.deepEqual(Array.from(table.getChild("batchSize")!), [100, 100, -3]);
    const loss = Array.from(table.getChild("loss")!) as number[];
    assert.equal(loss[0], 0.25);
    assert.ok(Number.isNaN(loss[1]));
    assert.equal(loss[2], -Infinity);
    assert.deepEqual(Array.from(table.getChild("alert")!), [false, true, null]);
    assert.deepEqual(Array.from(table.getChild("skipped")!), [null, "a non-finite value", null]);
    const correlations = table.getChild("correlations")!;
    assert.deepEqual(Array.from(correlations.get(0)!), [0.5, -0.25]);
    assert.equal(correlations.get(1), null);
    assert.deepEqual(Array.from(correlations.get(2)!), [1, 2, 3]);
  });

  test("is byte for byte the stream apache-arrow's own writer makes for the same record batches", async () => {
    const bytes = await bytesOf(toArrowIpc(RECORDS, { columns: COLUMNS, rowsPerBatch: 2 }));
    const batches = tableFromIPC(bytes).batches;
    assert.deepEqual(batches.map((b) => b.numRows), [2, 1]);
    assert.deepEqual(bytes, tableToIPC(new Table(batches), "stream"));
  });

  test("pulls records only as the stream is read, a record batch at a time", async () => {
    let produced = 0;
    async function* records() {
      for (let index = 0; index < 10; index++) {
        produced++;
        yield { index, loss: index / 10 };
      }
    }
    const stream = toArrowIpc(records(), {
      columns: [{ name: "index", type: "int64" }, { name: "loss", type: "float64" }],
      rowsPerBatch: 3,
    });
    const reader = stream.getReader();
    const first = await reader.read();
    assert.equal(first.done, false);
    assert.equal(produced, 3);
    const chunks = [first.value!];
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      chunks.push(next.value);
    }
    assert.equal(produced, 10);
    const whole = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const chunk of chunks) whole.set(chunk, (at += chunk.byteLength) - chunk.byteLength);
    const read = RecordBatchReader.from(whole);
    assert.deepEqual([...read].map((b) => b.numRows), [3, 3, 3, 1]);
  });

  test("the first chunk is a readable stream prefix: a consumer sees the first results before the rest exist", async () => {
    const stream = toArrowIpc([{ loss: 1 }, { loss: 2 }], {
      columns: [{ name: "loss", type: "float64" }],
      rowsPerBatch: 1,
    });
    const reader = stream.getReader();
    const first = (await reader.read()).value!;
    const partial = tableFromIPC(first);
    assert.deepEqual(Array.from(partial.getChild("loss")!), [1]);
    await reader.cancel();
  });

  test("no record gives a stream with the schema and no row", async () => {
    const table = tableFromIPC(await bytesOf(toArrowIpc([], { columns: COLUMNS })));
    assert.equal(table.numRows, 0);
    assert.deepEqual(table.schema.fields.map((f) => f.name), COLUMNS.map((c) => c.name));
  });

  test("round-trips the results of correlating a pyarrow-written file", async () => {
    async function* records() {
      for await (
        const result of correlateBatches(
          fromArrow(fixture("mixed.arrows"), { features: ["y", "emb"], confounds: ["motion"] }),
        )
      ) {
        yield {
          index: result.index,
          loss: result.loss,
          running: result.running.loss,
          correlations: result.correlations!.data,
        };
      }
    }
    const columns: ArrowIpcColumn[] = [
      { name: "index", type: "int64" },
      { name: "loss", type: "float64" },
      { name: "running", type: "float64" },
      { name: "correlations", type: "float64[]" },
    ];
    const table = tableFromIPC(await bytesOf(toArrowIpc(records(), { columns })));
    assert.equal(table.numRows, 3);
    assert.equal(table.getChild("correlations")!.get(0)!.length, 4);
  });

  test("a record that does not fit errors the stream, naming the record and column, and releases the source", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { index: 1.5 },
        /record 1 column "index" \(int64\) must be a safe integer or a bigint in the int64 range: current value is 1.5/,
      ],
      [
        { index: 1, loss: "high" },
        /record 1 column "loss" \(float64\) must be a number or null: current value is "high"/,
      ],
      [
        { loss: 1 },
        /record 1 column "index" \(int64\) must be a safe integer or a bigint in the int64 range: current value is undefined/,
      ],
      [
        { index: 1, extra: 2 },
        /record 1 must only have the declared columns \(index, batchSize, loss, alert, skipped, correlations\): current value has "extra"/,
      ],
      [
        { index: 1, batchSize: 2 ** 31 },
        /column "batchSize" \(int32\) must be an integer in \[-2\^31, 2\^31\) or null/,
      ],
      [
        { index: 1, correlations: [1, "2"] },
        /column "correlations" \(float64\[\]\) must be an array or typed array of numbers or null/,
      ],
    ];
    for (const [bad, message] of cases) {
      let released = false;
      const records = async function* () {
        try {
          yield { index: 0, loss: 0.5 };
          yield bad;
          yield { index: 2 };
        } finally {
          released = true;
        }
      };
      const error = await rejection(
        bytesOf(toArrowIpc(records() as AsyncIterable<never>, { columns: COLUMNS })),
      );
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /^Cannot write Arrow IPC as /);
      assert.match(error.message, message);
      assert.ok(released, "the source was released");
    }
  });

  test("cancelling the stream releases the source", async () => {
    let released = false;
    async function* records() {
      try {
        for (let index = 0;; index++) yield { loss: index };
      } finally {
        released = true;
      }
    }
    const stream = toArrowIpc(records(), {
      columns: [{ name: "loss", type: "float64" }],
      rowsPerBatch: 2,
    });
    const reader = stream.getReader();
    await reader.read();
    await reader.cancel();
    assert.ok(released);
  });

  test("rejects bad options and sources at the call", () => {
    assert.throws(() => toArrowIpc([], { columns: [] }), RangeError);
    assert.throws(
      () => toArrowIpc([], { columns: [{ name: "a", type: "float32" as never }] }),
      /must be float64, int64, int32, bool, utf8, float64\[\]/,
    );
    assert.throws(
      () => toArrowIpc([], { columns: [{ name: "a", type: "bool" }, { name: "a", type: "utf8" }] }),
      /distinct names/,
    );
    assert.throws(() => toArrowIpc([], { columns: COLUMNS, rowsPerBatch: 0 }), RangeError);
    assert.throws(
      () => toArrowIpc(5 as never, { columns: COLUMNS }),
      /records must be an AsyncIterable, an Iterable or a ReadableStream/,
    );
  });
});
