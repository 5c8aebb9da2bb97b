import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseNdjson } from "../../../src/cli/input/ndjson.ts";
import type { InputLimitError } from "../../../src/cli/errors.ts";
import { chunks, readUntilError } from "./_chunked.ts";

const encoder = new TextEncoder();

describe("parseNdjson()", () => {
  test("parses each line, reports invalid JSON with its line, and skips blank lines", async () => {
    const out: unknown[] = [];
    for await (const record of parseNdjson(chunks('{"a":1}\r\n{"a":\n\n[1]\n{"a":"é"}', 2))) {
      out.push(record.ok ? [record.line, record.value] : [record.line, "bad"]);
    }
    assert.deepEqual(out, [[1, { a: 1 }], [2, "bad"], [4, [1]], [5, { a: "é" }]]);
  });

  test("an object that repeats a key is a failed record naming the key, escapes decoded", async () => {
    const text = [
      '{"x":1,"x":2,"c":3}',
      '{"x":1,"\\u0078":2}',
      '{"":1,"":2}',
      '{"__proto__":1,"__proto__":2}',
      '{"\\u001b]2;x\\u0007":1,"\\u001b]2;x\\u0007":2}',
    ].join("\n");
    const { got } = await readUntilError(parseNdjson(chunks(text, 7)));
    assert.deepEqual(got.map((record) => [record.line, record.ok ? "ok" : record.reason]), [
      [1, 'duplicate key "x" in the object'],
      [2, 'duplicate key "x" in the object'],
      [3, 'duplicate key "" in the object'],
      [4, 'duplicate key "__proto__" in the object'],
      [5, 'duplicate key "\\u001b]2;x\\u0007" in the object'],
    ]);
  });

  test("keys repeated only inside nested values or strings are not repeats", async () => {
    const text = [
      '{"x":{"x":1,"x":2},"c":[{"c":1},{"c":2}]}',
      '{"x":"\\",\\"x\\":","y":"{\\"y\\":1}"}',
      '{"a":"\\\\","b":1}',
      '[{"x":1},{"x":2}]',
    ].join("\n");
    const { got } = await readUntilError(parseNdjson(chunks(text, 5)));
    assert.deepEqual(got.map((record) => record.ok), [true, true, true, true]);
  });
});

describe("parseNdjson() under input limits", () => {
  test("maxLineBytes counts bytes without the line end, maxColumns counts an object's keys", async () => {
    const line = '{"a":"é"}'; // 10 bytes
    for (const size of [1, 4, 1 << 16]) {
      const ok = await readUntilError(
        parseNdjson(chunks(`${line}\r\n${line}`, size), { maxLineBytes: 10 }),
      );
      assert.equal(ok.error, undefined, `chunks of ${size}`);
      assert.equal(ok.got.length, 2);
      const over = await readUntilError(
        parseNdjson(chunks(`${line}\n\n${line} \n`, size), { maxLineBytes: 10 }),
      );
      assert.equal(over.got.length, 1);
      assert.equal((over.error as InputLimitError).line, 3);
      assert.match((over.error as Error).message, /an NDJSON line must be at most 10 bytes long/);
    }
    const keys = await readUntilError(
      parseNdjson(chunks('{"a":1,"b":2}\n{"a":1,"b":2,"c":3}\n', 5), { maxColumns: 2 }),
    );
    assert.equal(keys.got.length, 1);
    assert.match(
      (keys.error as Error).message,
      /Cannot read line 2 as an NDJSON object must have at most 2 keys \(raise the limit with --max-columns\)/,
    );
  });

  test("a BOM is dropped and invalid UTF-8 becomes U+FFFD", async () => {
    const bytes = new Uint8Array([
      0xef,
      0xbb,
      0xbf,
      ...encoder.encode('{"a":"'),
      0xff,
      ...encoder.encode('"}\n'),
    ]);
    const { got } = await readUntilError(parseNdjson([bytes]));
    assert.deepEqual(got, [{ ok: true, value: { a: "\uFFFD" }, line: 1 }]);
  });
});
