import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parseCsv } from "../../../src/cli/input/csv.ts";
import { InputLimitError } from "../../../src/cli/errors.ts";
import { cellNumber } from "../../../src/cli/input/_cell_values.ts";
import { chunks, readUntilError } from "./_chunked.ts";

function lcg(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)]!;
}

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

  test("matches the reference on long random CSV mixing plain lines with quotes, CR and Unicode", async () => {
    const random = lcg(17);
    const plain = ["1.5", "-0.25", "", "x", " 7 ", "3e2", "abc def"];
    const special = ['"q,1"', '"x""y"', '"l\nm"', "é", "日本", '"a\r\nb"', 'a"b'];
    for (let trial = 0; trial < 40; trial++) {
      const lines: string[] = [];
      const rows = 20 + Math.floor(random() * 200);
      for (let r = 0; r < rows; r++) {
        const pool = random() < 0.1 ? special : plain;
        const width = 1 + Math.floor(random() * 5);
        lines.push(
          random() < 0.05 ? "" : Array.from({ length: width }, () => pick(pool, random)).join(","),
        );
      }
      const end = random() < 0.1 ? "\r\n" : random() < 0.05 ? "\r" : "\n";
      const text = (random() < 0.2 ? "\uFEFF" : "") + lines.join(end) + (random() < 0.5 ? end : "");
      const size = pick([1, 2, 7, 64, 333, 4096, 1 << 16], random);
      assert.deepEqual(
        await records(text, size),
        referenceCsv(text),
        `trial ${trial}, chunks of ${size}`,
      );
    }
  });

  test("reads each plain cell's number from its bytes exactly as from its text", async () => {
    const random = lcg(23);
    const cells = Array.from({ length: 3000 }, () => {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 30 - 15);
      return pick([String(x), x.toFixed(3), x.toExponential(4), " 1 ", "", "1e999", "z"], random);
    });
    const text = `a,b,c\n${cells.map((c, i) => (i % 3 === 2 ? `${c}\n` : `${c},`)).join("")}`;
    for await (const record of parseCsv(chunks(text, 1000))) {
      for (let i = 0; i < record.width; i++) {
        const expected = cellNumber(record.fields[i]);
        assert.ok(Object.is(record.numberAt(i), expected), `${record.fields[i]}: ${expected}`);
      }
      assert.equal(record.numberAt(record.width), undefined);
      assert.equal(record.textAt(-1), undefined);
    }
  });

  test("copies the part of a line a chunk ends inside, so a source may reuse that chunk's memory", async () => {
    const text = "a,b\n1,2\n3,4\n5,6\n";
    const bytes = new TextEncoder().encode(text);
    async function* reused(): AsyncGenerator<Uint8Array> {
      const buffer = new Uint8Array(3);
      for (let i = 0; i < bytes.length; i += 3) {
        const piece = bytes.subarray(i, i + 3);
        buffer.set(piece);
        yield buffer.subarray(0, piece.length);
      }
    }
    const got = [];
    for await (const record of parseCsv(reused())) got.push(record);
    assert.deepEqual(got.map((r) => r.fields), [["a", "b"], ["1", "2"], ["3", "4"], ["5", "6"]]);
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
  test("plain records meet the limits where CRLF records, read by the text parser, meet them", async () => {
    const random = lcg(29);
    for (let trial = 0; trial < 300; trial++) {
      const lines = Array.from(
        { length: 1 + Math.floor(random() * 6) },
        () =>
          Array.from({ length: 1 + Math.floor(random() * 6) }, () => "x".repeat(random() * 4)).join(
            ",",
          ),
      );
      const limits = {
        maxColumns: 1 + Math.floor(random() * 6),
        maxLineBytes: Math.floor(random() * 20),
      };
      const size = pick([1, 3, 1 << 16], random);
      const lf = await readUntilError(parseCsv(chunks(lines.join("\n") + "\n", size), limits));
      const crlf = await readUntilError(
        parseCsv(chunks(lines.join("\r\n") + "\r\n", size), limits),
      );
      const seen = (r: { got: { line: number; fields: string[] }[]; error: unknown }) => ({
        records: r.got.map((record) => [record.line, record.fields]),
        error: r.error instanceof InputLimitError
          ? [r.error.limit, r.error.line, r.error.message]
          : r.error,
      });
      assert.deepEqual(seen(lf), seen(crlf), `${JSON.stringify(lines)} ${JSON.stringify(limits)}`);
    }
  });

  test("an unfinished UTF-8 sequence at the very end still counts toward the last record", async () => {
    // "ab" then a lone lead byte: the decoder's final flush turns it into U+FFFD, 3 bytes more.
    const bytes = Uint8Array.of(...new TextEncoder().encode("x\nab"), 0xe2);
    for (const size of [1, 3, 64]) {
      const chunked = Array.from(
        { length: Math.ceil(bytes.length / size) },
        (_, i) => bytes.slice(i * size, (i + 1) * size),
      );
      const over = await readUntilError(parseCsv(chunked, { maxLineBytes: 4 }));
      assert.deepEqual(over.got.map((r) => r.fields), [["x"]], `chunks of ${size}`);
      assert.ok(over.error instanceof InputLimitError, `chunks of ${size}`);
      assert.equal(over.error.limit, "max-line-bytes");
      assert.equal(over.error.line, 2);
      const ok = await readUntilError(parseCsv(chunked, { maxLineBytes: 5 }));
      assert.deepEqual(ok.got.map((r) => r.fields), [["x"], ["ab\uFFFD"]]);
    }
  });

  test("a record over both limits fails on the one the text parser meets first", async () => {
    // The second comma is byte 3: at maxLineBytes 4 the fields run out first, at 3 the bytes do.
    const first = await readUntilError(
      parseCsv(chunks("a,b,c,d\n", 64), { maxColumns: 2, maxLineBytes: 4 }),
    );
    assert.equal((first.error as InputLimitError).limit, "max-columns");
    const second = await readUntilError(
      parseCsv(chunks("a,b,c,d\n", 64), { maxColumns: 2, maxLineBytes: 3 }),
    );
    assert.equal((second.error as InputLimitError).limit, "max-line-bytes");
  });

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
