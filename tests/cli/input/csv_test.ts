import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseCsv } from "../../../src/cli/input/csv.ts";
import { InputLimitError } from "../../../src/cli/errors.ts";
import { chunks, readUntilError } from "./_chunked.ts";

async function records(text: string, size = 1 << 16): Promise<[number, string[]][]> {
  const out: [number, string[]][] = [];
  for await (const record of parseCsv(chunks(text, size))) out.push([record.line, record.fields]);
  return out;
}

/**
 * An obviously-correct reference for the same dialect: walks the whole string
 * at once with a regular expression per field.
 */
function referenceCsv(text: string): [number, string[]][] {
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const out: [number, string[]][] = [];
  const field = /"((?:[^"]|"")*)"|([^,\r\n]*)/y;
  let pos = 0;
  let line = 1;
  while (pos < body.length) {
    const start = line;
    const fields: string[] = [];
    while (true) {
      field.lastIndex = pos;
      const m = field.exec(body)!;
      const quoted = m[1] !== undefined;
      const value = quoted ? m[1]!.replace(/""/g, '"').replace(/\r\n?/g, "\n") : m[2]!;
      line += quoted ? (m[1]!.match(/\r\n|\r|\n/g)?.length ?? 0) : 0;
      fields.push(value);
      pos = field.lastIndex;
      if (body[pos] === ",") {
        pos++;
        continue;
      }
      break;
    }
    if (body.startsWith("\r\n", pos)) pos += 2;
    else if (body[pos] === "\n" || body[pos] === "\r") pos++;
    line++;
    if (!(fields.length === 1 && fields[0] === "")) out.push([start, fields]);
  }
  return out;
}

describe("parseCsv()", () => {
  test("reads a header and rows with quoted commas, doubled quotes and empty cells", async () => {
    assert.deepEqual(await records('a,b,c\n1,"x, y",\n"say ""hi""",,3\n'), [
      [1, ["a", "b", "c"]],
      [2, ["1", "x, y", ""]],
      [3, ['say "hi"', "", "3"]],
    ]);
  });

  test("keeps newlines inside quoted fields and numbers records by their first line", async () => {
    assert.deepEqual(await records('a,b\n"two\nlines",1\nz,2'), [
      [1, ["a", "b"]],
      [2, ["two\nlines", "1"]],
      [4, ["z", "2"]],
    ]);
  });

  test("treats CRLF and a UTF-8 byte-order mark like LF and nothing", async () => {
    assert.deepEqual(await records("\uFEFFa,b\r\n1,2\r\n3,4\r\n"), [
      [1, ["a", "b"]],
      [2, ["1", "2"]],
      [3, ["3", "4"]],
    ]);
  });

  test("skips blank lines but keeps their line numbers counted", async () => {
    assert.deepEqual(await records("a\n\n1\n\n\n2\n"), [[1, ["a"]], [3, ["1"]], [6, ["2"]]]);
  });

  test("gives the same records whatever the chunk boundaries, multi-byte characters included", async () => {
    const text = '\uFEFFname,v\r\n"é, ""€""",1\r\n"a\r\nb",2\n日本,3\n,\n"",""\nlast,9';
    const whole = await records(text);
    assert.deepEqual(whole, referenceCsv(text));
    for (const size of [1, 2, 3, 5, 7]) {
      assert.deepEqual(await records(text, size), whole, `chunk size ${size}`);
    }
  });

  test("matches the reference on random CSV text", async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const pieces = ["a", "1.5", "", '"q,1"', '"x""y"', '"l\nm"', "é"];
    for (let trial = 0; trial < 30; trial++) {
      const lines: string[] = [];
      for (let r = 0; r < 5; r++) {
        lines.push(
          Array.from({ length: 3 }, () => pieces[Math.floor(random() * pieces.length)]).join(","),
        );
      }
      const text = lines.join(random() < 0.5 ? "\n" : "\r\n");
      assert.deepEqual(await records(text, 1 + Math.floor(random() * 6)), referenceCsv(text), text);
    }
  });

  test("reads from a web ReadableStream", async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks("a,b\n1,2\n", 3)) controller.enqueue(chunk);
        controller.close();
      },
    });
    const out: string[][] = [];
    for await (const record of parseCsv(stream)) out.push(record.fields);
    assert.deepEqual(out, [["a", "b"], ["1", "2"]]);
  });

  test("throws a SyntaxError naming the line when a quoted field is never closed", async () => {
    await assert.rejects(records('a,b\n1,2\n"open,3\n'), (error: unknown) => {
      assert.ok(error instanceof SyntaxError);
      assert.match(error.message, /line 3/);
      return true;
    });
  });
});

describe("parseCsv() under input limits", () => {
  test("a record of exactly maxLineBytes UTF-8 bytes passes and one byte more fails, whatever the chunking", async () => {
    // "é" is 2 bytes and "😀" 4: the limit counts UTF-8 bytes, not characters.
    const row = "é😀,ab"; // 2 + 4 + 1 + 2 = 9 bytes
    for (const size of [1, 3, 1 << 16]) {
      const ok = await readUntilError(
        parseCsv(chunks(`x,y\r\n${row}\r\n`, size), { maxLineBytes: 9 }),
      );
      assert.equal(ok.error, undefined);
      assert.deepEqual(ok.got.map((r) => r.fields), [["x", "y"], ["é😀", "ab"]]);
      const over = await readUntilError(
        parseCsv(chunks(`x,y\n${row}c\n`, size), { maxLineBytes: 9 }),
      );
      assert.deepEqual(over.got.map((r) => r.fields), [["x", "y"]], "the record before is yielded");
      assert.equal((over.error as InputLimitError).limit, "max-line-bytes");
      assert.equal((over.error as InputLimitError).line, 2);
    }
  });

  test("a quoted field spanning lines counts toward its record, though each line is short", async () => {
    const text = 'x,y\n"aaaa\nbbbb\ncccc",1\n';
    const over = await readUntilError(parseCsv(chunks(text, 4), { maxLineBytes: 12 }));
    assert.match(
      (over.error as Error).message,
      /Cannot read line 2 as a CSV record must be at most 12 bytes long \(raise the limit with --max-line-bytes\)/,
    );
    const ok = await readUntilError(parseCsv(chunks(text, 4), { maxLineBytes: 18 })); // 4+1+4+1+4 + quotes 2 + ",1" 2
    assert.equal(ok.error, undefined);
    assert.deepEqual(ok.got[1]!.fields, ["aaaa\nbbbb\ncccc", "1"]);
  });

  test("maxColumns fields pass and one more fails on the line of the record", async () => {
    const ok = await readUntilError(parseCsv(chunks("a,b,c\n1,2,3\n", 2), { maxColumns: 3 }));
    assert.equal(ok.error, undefined);
    const over = await readUntilError(
      parseCsv(chunks("a,b,c\n1,2,3\n\n1,2,3,4\n", 2), { maxColumns: 3 }),
    );
    assert.equal(over.got.length, 2);
    assert.ok(over.error instanceof InputLimitError);
    assert.equal(over.error.limit, "max-columns");
    assert.match(
      over.error.message,
      /Cannot read line 4 as a CSV record must have at most 3 fields \(raise the limit with --max-columns\): current value is more than 3 fields/,
    );
  });
});
