import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.ts";
import { driftDataLines } from "../../src/cli/input/drift_data.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;

/** The CLI in the runtime running the tests; `denoFlags` replace `-A` under Deno. */
function cliCommand(denoFlags: string[] = ["-A"]): [string, string[]] {
  if (deno !== undefined) return [deno.execPath(), ["run", ...denoFlags, "cli.ts"]];
  return [process.execPath, ["cli.ts"]];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Bytes of standard input the CLI accepted before it exited. */
  written: number;
}

/** Standard input: text, chunks produced on demand (streamed with back-pressure), or none at all. */
type Stdin = string | Uint8Array | (() => Iterable<string | Uint8Array>) | "ignore";

/**
 * Runs the CLI as a subprocess. A generator stdin is written chunk by chunk,
 * waiting for the pipe to drain, and stops as soon as the CLI closes it, so
 * that a huge input never exists in memory on either side.
 */
function runCli(args: string[], stdin: Stdin = "", denoFlags?: string[]): Promise<RunResult> {
  const [command, prefix] = cliCommand(denoFlags);
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: ROOT,
      stdio: [stdin === "ignore" ? "ignore" : "pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    let written = 0;
    let exited = false;
    child.stdout!.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (code) => {
      exited = true;
      resolve({ code, stdout, stderr, written });
    });
    if (stdin === "ignore") return;
    const pipe = child.stdin!;
    pipe.on("error", () => {}); // EPIPE once the CLI has refused the input and exited
    if (typeof stdin !== "function") {
      written = typeof stdin === "string" ? Buffer.byteLength(stdin) : stdin.byteLength;
      pipe.end(stdin);
      return;
    }
    (async () => {
      for (const chunk of stdin()) {
        if (exited || pipe.destroyed) return;
        const ok = pipe.write(chunk);
        written += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
        if (!ok) {
          await new Promise<void>((go) => {
            const resume = () => {
              pipe.off("drain", resume).off("close", resume);
              go();
            };
            pipe.on("drain", resume).on("close", resume);
          });
        }
      }
      if (!pipe.destroyed) pipe.end();
    })().catch(reject);
  });
}

/** "rows read R, used U, rejected J" from the CLI's output, as numbers. */
function rowCounts(text: string): { read: number; used: number; rejected: number } {
  const match = /rows read (\d+), used (\d+), rejected (\d+)/.exec(text);
  assert.ok(match, `no row counts in: ${text}`);
  return { read: Number(match[1]), used: Number(match[2]), rejected: Number(match[3]) };
}

/** Deterministic bytes (a linear congruential generator), NUL and invalid UTF-8 included. */
function garbageBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let state = seed >>> 0;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    bytes[i] = state >>> 24;
  }
  return bytes;
}

let dir = "";
let clean = "";
/** The NDJSON output for clean.csv, run once. */
let cleanOutput: Promise<RunResult>;
const CLEAN = { batches: 4, batchSize: 10, features: 3, driftBatch: 2, strength: 0.8, seed: 3 };
const MONITOR = ["--confounds", "c", "--batch-size", "10", "--format", "ndjson"];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-hostile-"));
  clean = [...driftDataLines(CLEAN, "csv")].join("");
  writeFileSync(join(dir, "clean.csv"), clean);
  cleanOutput = runCli(["monitor", join(dir, "clean.csv"), ...MONITOR]);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("monitor against hostile files (subprocess)", () => {
  test("binary garbage (random bytes with NUL) exits 2 naming the NUL byte's offset, before any row", async () => {
    const bytes = garbageBytes(200_000, 7);
    const firstNul = bytes.indexOf(0);
    assert.ok(firstNul >= 0);
    writeFileSync(join(dir, "garbage.csv"), bytes);
    const result = await runCli(["monitor", join(dir, "garbage.csv"), ...MONITOR]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      new RegExp(
        `must be text \\(CSV or NDJSON in UTF-8\\): current value has a NUL byte at byte offset ${firstNul} `,
      ),
    );
    assert.deepEqual(rowCounts(result.stderr), { read: 0, used: 0, rejected: 0 });
    assert.equal(result.stdout, "");
  });

  test("a UTF-16 file exits 2 asking for UTF-8", async () => {
    const text = "f0,c\n1,2\n";
    const utf16 = new Uint8Array(2 + text.length * 2);
    utf16.set([0xff, 0xfe]);
    for (let i = 0; i < text.length; i++) utf16[2 + 2 * i] = text.charCodeAt(i);
    writeFileSync(join(dir, "utf16.csv"), utf16);
    const result = await runCli(["monitor", join(dir, "utf16.csv"), ...MONITOR]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /must be UTF-8 text: current value starts with a UTF-16 byte-order mark/,
    );
  });

  test("invalid UTF-8 and terminal escapes in cells: a bad row when in a selected column, harmless elsewhere, never printed raw", async () => {
    const lines = clean.split("\n");
    const encoder = new TextEncoder();
    // Line 3: invalid UTF-8 in a feature cell; line 4: an escape sequence in a feature cell.
    const parts: Uint8Array[] = [];
    lines.forEach((line, i) => {
      if (i === 2) {
        parts.push(
          new Uint8Array([0xc3, 0x28, 0xff]),
          encoder.encode(line.slice(line.indexOf(",")) + "\n"),
        );
      } else if (i === 3) {
        parts.push(encoder.encode(`\u001b[2J\u202e${line.slice(line.indexOf(","))}\n`));
      } else if (line.length > 0) parts.push(encoder.encode(`${line}\n`));
    });
    writeFileSync(join(dir, "dirty.csv"), Buffer.concat(parts));
    const result = await runCli([
      "monitor",
      join(dir, "dirty.csv"),
      ...MONITOR,
      "--on-bad-row",
      "skip",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /skipped line 3: non-numeric value "\uFFFD\(\uFFFD" in feature column "f0"/,
    );
    assert.match(
      result.stderr,
      /skipped line 4: non-numeric value "\\u001b\[2J\\u202e" in feature column "f0"/,
    );
    assert.ok(
      !result.stderr.includes("\u001b") && !result.stderr.includes("\u202e"),
      "a raw control character reached stderr",
    );
    assert.deepEqual(rowCounts(result.stderr), { read: 40, used: 38, rejected: 2 });
  });

  test("a UTF-8 BOM and CRLF line ends give exactly the output of the clean file", async () => {
    writeFileSync(join(dir, "bom_crlf.csv"), `\uFEFF${clean.replace(/\n/g, "\r\n")}`);
    const plain = await cleanOutput;
    const dressed = await runCli(["monitor", join(dir, "bom_crlf.csv"), ...MONITOR]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(dressed.code, 0, dressed.stderr);
    assert.equal(plain.stdout.split("\n").filter(Boolean).length, 4);
    assert.equal(dressed.stdout, plain.stdout);
    assert.deepEqual(rowCounts(dressed.stderr), { read: 40, used: 40, rejected: 0 });
  });

  test("a 10-million-column header streamed on stdin is refused by --max-columns after a few MB, not 89 MB", async () => {
    const total = 10_000_000;
    function* header() {
      for (let start = 0; start < total; start += 10_000) {
        const names: string[] = [];
        for (let i = start; i < start + 10_000; i++) names.push(`c${i}`);
        yield `${names.join(",")}${start + 10_000 < total ? "," : "\n"}`;
      }
    }
    const result = await runCli(["monitor", "-", ...MONITOR], header);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /Cannot read line 1 as a CSV record must have at most 100000 fields \(raise the limit with --max-columns\): current value is more than 100000 fields/,
    );
    assert.deepEqual(rowCounts(result.stderr), { read: 0, used: 0, rejected: 0 });
    // 100,001 names take about 0.7 MB; the rest was never read (nor held).
    assert.ok(result.written < 8_000_000, `the CLI accepted ${result.written} bytes`);
  });

  test("a 100 MB single line streamed on stdin is refused by --max-line-bytes, not buffered", async () => {
    function* longLine() {
      yield "f0,c\n";
      const block = "1".repeat(1 << 20);
      for (let i = 0; i < 100; i++) yield block;
      yield ",2\n";
    }
    const result = await runCli(["monitor", "-", ...MONITOR], longLine);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /Cannot read line 2 as a CSV record must be at most 16777216 bytes long \(raise the limit with --max-line-bytes\): current value is more than 16777216 bytes/,
    );
    assert.ok(result.written < 40 * (1 << 20), `the CLI accepted ${result.written} bytes`);
  });

  test("an NDJSON line over --max-line-bytes exits 2 with its line; the lines before it are counted", async () => {
    const text = `{"f0":1,"c":2}\n{"f0":2,"c":1}\n{"f0":${"1".repeat(5000)},"c":3}\n`;
    const result = await runCli([
      "monitor",
      "-",
      ...MONITOR,
      "--input-format",
      "ndjson",
      "--max-line-bytes",
      "1000",
    ], text);
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /Cannot read line 3 as an NDJSON line must be at most 1000 bytes long \(raise the limit with --max-line-bytes\)/,
    );
    assert.deepEqual(rowCounts(result.stderr), { read: 2, used: 0, rejected: 0 });
  });

  test("the limits are flags: --max-columns 3 refuses a 4-column header, 4 accepts it; an invalid value exits 2", async () => {
    const refused = await runCli([
      "monitor",
      join(dir, "clean.csv"),
      ...MONITOR,
      "--max-columns",
      "3",
    ]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /must have at most 3 fields \(raise the limit with --max-columns\)/,
    );
    const accepted = await runCli([
      "monitor",
      join(dir, "clean.csv"),
      ...MONITOR,
      "--max-columns",
      "4",
    ]);
    assert.equal(accepted.code, 0, accepted.stderr);
    // Rejected while parsing the command line: checked in process, no subprocess needed.
    let err = "";
    const io = {
      stdout: { write: () => {} },
      stderr: { write: (t: string) => void (err += t) },
      stdin: () => [],
      stderrIsTty: false,
    };
    assert.equal(
      await main(["monitor", join(dir, "clean.csv"), ...MONITOR, "--max-line-bytes", "0"], io),
      2,
    );
    assert.match(
      err,
      /--max-line-bytes must be a positive integer \(bytes per record\): current value is "?0/,
    );
  });

  test("F·M over --max-elements exits 2 before any batch, naming F, M and the flag", async () => {
    const refused = await runCli([
      "monitor",
      join(dir, "clean.csv"),
      ...MONITOR,
      "--max-elements",
      "2",
    ]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(
      refused.stderr,
      /Cannot monitor the input as F·M .* must be at most 2: current value is F = 3 × M = 1 = 3; pass a larger --max-elements/,
    );
    assert.equal(refused.stdout, "");
    const accepted = await runCli([
      "monitor",
      join(dir, "clean.csv"),
      ...MONITOR,
      "--max-elements",
      "3",
    ]);
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.equal(accepted.stdout, (await cleanOutput).stdout);
  });

  test("a file that grows while read is read up to the end it has when reached, then the run ends", async () => {
    const path = join(dir, "growing.csv");
    const lines = [...driftDataLines({ ...CLEAN, batches: 400 }, "csv")];
    writeFileSync(path, lines.slice(0, 201).join("")); // header + 200 rows
    const run = runCli(["monitor", path, ...MONITOR, "--on-bad-row", "skip"]);
    let appended = 0;
    let done = false;
    void run.then(() => (done = true));
    // Append the other rows, 20 at a time, while the monitor runs.
    for (let at = 201; at < lines.length && !done; at += 20) {
      appendFileSync(path, lines.slice(at, at + 20).join(""));
      appended += Math.min(20, lines.length - at);
      await new Promise((go) => setTimeout(go, 2));
    }
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    const counts = rowCounts(result.stderr);
    assert.ok(
      counts.read >= 200 && counts.read <= 200 + appended,
      `read ${counts.read} of ${200 + appended}`,
    );
    assert.equal(counts.used + counts.rejected, counts.read);
    // The rows it used are the file's first rows: each NDJSON batch record counts them.
    const last = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
    assert.equal(last.count, counts.used);
  });

  test("a path that does not exist, or runs through a file, exits 2 naming it", async () => {
    const missing = await runCli(["monitor", join(dir, "nope.csv"), ...MONITOR]);
    assert.equal(missing.code, 2);
    assert.match(
      missing.stderr,
      /must be a readable file or pipe: current value is ".*nope\.csv" \(ENOENT/,
    );
    const through = await runCli(["monitor", join(dir, "clean.csv", "x.csv"), ...MONITOR]);
    assert.equal(through.code, 2);
    assert.match(
      through.stderr,
      /must be a readable file or pipe: current value is ".*x\.csv" \(ENOTDIR/,
    );
  });

  const isRoot = process.getuid?.() === 0;
  test(
    "a mode-000 file exits 2 (skipped when run as root: root reads mode-000 files)",
    {
      skip: isRoot
        ? "running as root, which reads mode-000 files; /proc/self/mem covers a read failure"
        : false,
    },
    async () => {
      const path = join(dir, "locked.csv");
      writeFileSync(path, clean);
      chmodSync(path, 0o000);
      const result = await runCli(["monitor", path, ...MONITOR]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /EACCES/);
    },
  );

  test(
    "a file whose reads fail (/proc/self/mem, unreadable even for root) exits 2 naming the error",
    { skip: existsSync("/proc/self/mem") ? false : "no /proc here" },
    async () => {
      const result = await runCli(["monitor", "/proc/self/mem", ...MONITOR]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(
        result.stderr,
        /Cannot read "\/proc\/self\/mem" as the input must be readable to its end: current value failed after 0 bytes \(EIO/,
      );
      assert.deepEqual(rowCounts(result.stderr), { read: 0, used: 0, rejected: 0 });
    },
  );

  test("a directory and a device exit 2 saying what they are", async () => {
    const directory = await runCli(["monitor", dir, ...MONITOR]);
    assert.equal(directory.code, 2);
    assert.match(
      directory.stderr,
      /must be a readable file or pipe: current value is ".*" \(a directory\)/,
    );
    if (existsSync("/dev/zero")) {
      const device = await runCli(["monitor", "/dev/zero", ...MONITOR]);
      assert.equal(device.code, 2);
      assert.match(device.stderr, /\(a device\)/);
    }
  });

  test("a named pipe is read like a file", {
    skip: process.platform === "win32" ? "no mkfifo" : false,
  }, async () => {
    const fifo = join(dir, "pipe.csv");
    if (spawnSync("mkfifo", [fifo]).status !== 0) return;
    const run = runCli(["monitor", fifo, ...MONITOR]);
    // Opening for writing waits for the reader, so the write happens once the CLI reads.
    await new Promise<void>((go, fail) => {
      const writer = spawn("sh", ["-c", `cat > "${fifo}"`], {
        stdio: ["pipe", "ignore", "ignore"],
      });
      writer.on("error", fail).on("close", () => go());
      writer.stdin.end(clean);
    });
    const result = await run;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(rowCounts(result.stderr), { read: 40, used: 40, rejected: 0 });
  });

  test("standard input closed at once, or absent, exits 2 as an empty input", async () => {
    for (const stdin of ["", "ignore"] as const) {
      const result = await runCli(["monitor", "-", ...MONITOR], stdin);
      assert.equal(result.code, 2, `stdin ${JSON.stringify(stdin)}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /Cannot read the CSV input as it must start with a header row: current value is an empty input/,
      );
      assert.deepEqual(rowCounts(result.stderr), { read: 0, used: 0, rejected: 0 });
    }
  });

  test("standard input closed in the middle of a row: the complete rows are used and the torn one is a bad row", async () => {
    const torn = clean.slice(0, clean.lastIndexOf(",")); // the last row loses its last field
    const result = await runCli(["monitor", "-", ...MONITOR, "--on-bad-row", "skip"], torn);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /skipped line 41: wrong width: 3 fields where the header has 4/);
    assert.deepEqual(rowCounts(result.stderr), { read: 40, used: 39, rejected: 1 });
  });

  test("an empty file, a file of blank lines, and an empty NDJSON file exit 2 as empty inputs", async () => {
    writeFileSync(join(dir, "empty.csv"), "");
    writeFileSync(join(dir, "blank.csv"), "\n\n\n");
    writeFileSync(join(dir, "empty.ndjson"), "\n\n");
    for (const name of ["empty.csv", "blank.csv"]) {
      const result = await runCli(["monitor", join(dir, name), ...MONITOR]);
      assert.equal(result.code, 2, name);
      assert.match(
        result.stderr,
        /must start with a header row: current value is an empty input/,
        name,
      );
      assert.deepEqual(rowCounts(result.stderr), { read: 0, used: 0, rejected: 0 });
    }
    const ndjson = await runCli(["monitor", join(dir, "empty.ndjson"), ...MONITOR]);
    assert.equal(ndjson.code, 2);
    assert.match(
      ndjson.stderr,
      /must hold at least one JSON object line: current value is an empty input/,
    );
  });

  test("a header without rows exits 2, with or without --features", async () => {
    writeFileSync(join(dir, "header.csv"), "f0,f1,c\n");
    const inferred = await runCli(["monitor", join(dir, "header.csv"), ...MONITOR]);
    assert.equal(inferred.code, 2);
    assert.match(
      inferred.stderr,
      /Cannot choose the feature columns .*: current value is an input without data rows/,
    );
    const named = await runCli([
      "monitor",
      join(dir, "header.csv"),
      ...MONITOR,
      "--features",
      "f0",
    ]);
    assert.equal(named.code, 2);
    assert.match(
      named.stderr,
      /must hold at least one usable data row: current value is no data row/,
    );
    assert.equal(named.stdout, "");
  });

  test("every row rejected under --on-bad-row skip exits 2 with the counts", async () => {
    const result = await runCli([
      "monitor",
      "-",
      ...MONITOR,
      "--features",
      "f0",
      "--on-bad-row",
      "skip",
    ], "f0,c\nx,1\ny,2\n1\n");
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /must hold at least one usable data row: current value is 3 data row\(s\), all rejected/,
    );
    assert.deepEqual(rowCounts(result.stderr), { read: 3, used: 0, rejected: 3 });
  });

  test("a bad row under the default policy stops with its line and the counts so far", async () => {
    const lines = clean.split("\n");
    lines[25] = lines[25]!.replace(/^[^,]*/, "oops");
    const result = await runCli(["monitor", "-", ...MONITOR], lines.join("\n"));
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /Cannot use line 26 as rows must have a number in every selected column \(--on-bad-row error\): non-numeric value "oops"/,
    );
    // All 40 rows were parsed (column inference looks ahead); 24 reached the batches before line 26.
    assert.deepEqual(rowCounts(result.stderr), { read: 40, used: 24, rejected: 1 });
  });

  test("column names such as __proto__ and constructor are plain names", async () => {
    const text = clean.replace(/^f0,f1,/, "__proto__,constructor,");
    const result = await runCli([
      "monitor",
      "-",
      ...MONITOR,
      "--features",
      "__proto__,constructor,f2",
    ], text);
    const reference = await cleanOutput;
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, reference.stdout);
  });
});

describe("monitor refuses what it would read wrongly (subprocess)", () => {
  test("a header that repeats a name, two empty names included, exits 2 naming the repeats before any batch", async () => {
    const rows = clean.slice(clean.indexOf("\n") + 1);
    const cases: [string, RegExp][] = [
      ["x,x,f2,c", /"x" at columns 1 and 2$/m],
      [",,f2,c", /"" at columns 1 and 2$/m],
      ["f0,c,f2,c", /"c" at columns 2 and 4$/m],
    ];
    for (const [header, repeat] of cases) {
      const result = await runCli(["monitor", "-", ...MONITOR], `${header}\n${rows}`);
      assert.equal(result.code, 2, `${header}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /Cannot read the columns of the input as their names must be unique/,
        header,
      );
      assert.match(result.stderr, repeat, header);
      assert.equal(result.stdout, "", header);
    }
  });

  test("a column named twice in --features/--confounds, or as both, exits 2 naming it", async () => {
    const cases: [string[], RegExp][] = [
      [["--features", "f0,f0"], /names "f0" twice/],
      [["--features", "f0,c"], /names "c" as both a feature and a confound/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(["monitor", join(dir, "clean.csv"), ...MONITOR, ...flags]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    }
    const twice = await runCli(["monitor", join(dir, "clean.csv"), "-c", "c,c"]);
    assert.equal(twice.code, 2, twice.stderr);
    assert.match(twice.stderr, /names "c" twice/);
  });

  test("an NDJSON object that repeats a key is a bad row naming the key and its line", async () => {
    const text = '{"f0":1,"c":2}\n{"f0":2,"f0":5,"c":1}\n{"f0":3,"c":3}\n{"f0":1,"c":1}\n';
    const args = ["monitor", "-", ...MONITOR, "--input-format", "ndjson", "--tol", "0"];
    const stopped = await runCli(args, text);
    assert.equal(stopped.code, 2, stopped.stderr);
    assert.match(stopped.stderr, /Cannot use line 2 .*: duplicate key "f0" in the object/);
    const skipped = await runCli([...args, "--on-bad-row", "skip"], text);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stderr, /skipped line 2: duplicate key "f0" in the object/);
    assert.deepEqual(rowCounts(skipped.stderr), { read: 4, used: 3, rejected: 1 });
  });

  test("--batch-size 1e12 on a four-row file gives the output of --batch-size 4; a size past 2^53 exits 2", async () => {
    const four = clean.split("\n").slice(0, 5).join("\n") + "\n";
    const common = ["monitor", "-", "--confounds", "c", "--format", "ndjson", "--tol", "0"];
    const huge = await runCli([...common, "--batch-size", "1e12"], four);
    const exact = await runCli([...common, "--batch-size", "4"], four);
    assert.equal(huge.code, 0, huge.stderr);
    assert.equal(exact.code, 0, exact.stderr);
    assert.equal(huge.stdout, exact.stdout);
    assert.equal(JSON.parse(huge.stdout).batchSize, 4);
    const unsafe = await runCli([...common, "--batch-size", "1e300"], four);
    assert.equal(unsafe.code, 2, unsafe.stderr);
    assert.match(
      unsafe.stderr,
      /--batch-size must be a positive integer: current value is "1e300"/,
    );
    assert.doesNotMatch(unsafe.stderr, /internal error|\n\s+at /);
  });
});

/** The CLI run in-process by a wrapper that reports its peak RSS; standard output is discarded. */
function runForPeakRss(
  args: string[],
  stdin: () => Iterable<string>,
): Promise<{ code: number | null; stderr: string; peakKb: number; liveKb: number }> {
  const script = join("tests", "cli", "_peak_rss_cli.ts");
  const [command, prefix] = deno !== undefined
    ? [deno.execPath(), ["run", "-A", "--v8-flags=--expose-gc", script]]
    : [process.execPath, [script]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: ROOT,
      stdio: ["pipe", "ignore", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (code) => {
      const match = /peak-rss-kb (\d+) live-heap-kb (\d+)/.exec(stderr);
      if (!match) reject(new Error(`no peak RSS in: ${stderr.slice(-2000)}`));
      else resolve({ code, stderr, peakKb: Number(match[1]), liveKb: Number(match[2]) });
    });
    const pipe = child.stdin!;
    pipe.on("error", () => {});
    (async () => {
      for (const chunk of stdin()) {
        if (pipe.destroyed) return;
        if (!pipe.write(chunk)) await new Promise((go) => pipe.once("drain", go));
      }
      pipe.end();
    })().catch(reject);
  });
}

/**
 * What the run holds live (sampled after full collections) must not grow with
 * 10× more batches, and neither may its peak RSS beyond the collector's slack
 * (the heap it lets garbage fill before collecting, which grows slowly with
 * the run's length and is not memory the run keeps).
 */
function assertFlatMemory(
  small: { peakKb: number; liveKb: number },
  large: { peakKb: number; liveKb: number },
): void {
  const figures =
    `live heap ${small.liveKb} → ${large.liveKb} KiB, peak RSS ${small.peakKb} → ${large.peakKb} KiB`;
  console.log(`memory figures: ${figures}`);
  // JavaScriptCore's heap figure settles later and noisier than V8's: under Bun
  // 60,000 → 600,000 skipped batches read 23.1 → 24.1 MiB (flat), yet 6,000 →
  // 60,000 can read 9.4 → 14.1 MiB while its bounded lists fill.
  const slackKb = "Bun" in globalThis ? 8 * 1024 : 4 * 1024;
  assert.ok(
    large.liveKb - small.liveKb < slackKb,
    `live heap grew for 10× more batches: ${figures}`,
  );
  assert.ok(
    large.peakKb - small.peakKb < 64 * 1024,
    `peak RSS grew for 10× more batches: ${figures}`,
  );
}

/** A CSV of one feature and the confound c, `rows` rows, written 64 KiB at a time. */
function* twoColumnCsv(rows: number): Generator<string> {
  let text = "x,c\n";
  for (let i = 0; i < rows; i++) {
    text += `${(i * 7919) % 1000},${(i * 104729) % 997}\n`;
    if (text.length > 1 << 16) {
      yield text;
      text = "";
    }
  }
  yield text;
}

describe("memory and output stay bounded in the number of batches (subprocess)", () => {
  const BATCHES = 6_000;

  test(
    "every batch skipped (batches of 2 under tol auto): exit 2, a bounded summary, RSS flat across 10× more batches",
    {
      timeout: 300_000,
    },
    async () => {
      const args = ["monitor", "-", "-c", "c", "-b", "2", "--tol", "auto", "--format", "ndjson"];
      const small = await runForPeakRss(args, () => twoColumnCsv(2 * BATCHES));
      const large = await runForPeakRss(args, () => twoColumnCsv(20 * BATCHES));
      for (const [run, batches] of [[small, BATCHES], [large, 10 * BATCHES]] as const) {
        assert.equal(run.code, 2, run.stderr.slice(-2000));
        assert.match(
          run.stderr,
          new RegExp(
            `at least one batch must be folded in: current value is ${batches} batch\\(es\\), all skipped \\(batch 0: Cannot correlate batch 0`,
          ),
        );
        assert.match(
          run.stderr,
          new RegExp(`skipped ${batches} batch\\(es\\): .*; … and ${batches - 20} more`),
        );
        // The skip list is cut at 20 reasons: the whole of standard error stays a few kilobytes.
        assert.ok(run.stderr.length < 16_000, `stderr of ${run.stderr.length} characters`);
      }
      assertFlatMemory(small, large);
    },
  );

  test("a run with --report: the report renders and RSS stays flat across 10× more batches", {
    timeout: 300_000,
  }, async () => {
    const report = join(dir, "many_batches.html");
    const args = [
      "monitor",
      "-",
      "-c",
      "c",
      "-b",
      "3",
      "--tol",
      "0",
      "--format",
      "ndjson",
      "-r",
      report,
    ];
    const small = await runForPeakRss(args, () => twoColumnCsv(3 * BATCHES));
    const smallReport = readFileSync(report, "utf8").length;
    const large = await runForPeakRss(args, () => twoColumnCsv(30 * BATCHES));
    const largeReport = readFileSync(report, "utf8");
    assert.equal(small.code, 0, small.stderr);
    assert.equal(large.code, 0, large.stderr);
    assert.match(largeReport, new RegExp(`data-batches="${10 * BATCHES}"`));
    assert.ok(
      largeReport.length < 2 * smallReport + 100_000,
      `report of ${largeReport.length} characters`,
    );
    assertFlatMemory(small, large);
  });
});

/** Control characters, C1 controls and bidirectional overrides that a terminal could act on. */
// deno-lint-ignore no-control-regex -- finding those characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function assertNoRawControl(result: { stdout: string; stderr: string }, what: string): void {
  for (const [name, text] of [["stdout", result.stdout], ["stderr", result.stderr]] as const) {
    const at = text.search(RAW_CONTROL);
    assert.equal(
      at,
      -1,
      `${what}: a raw control character reached ${name}: ${
        JSON.stringify(text.slice(Math.max(0, at - 40), at + 40))
      }`,
    );
  }
}

describe("input text never reaches the terminal raw (subprocess)", () => {
  const EVIL = "\u001b]2;PWNED\u0007\u001b[2J\u009b31m\u202e";
  const ESCAPED = "\\u001b]2;PWNED\\u0007\\u001b[2J\\u009b31m\\u202e";

  test("a hostile date cell with --date-column: the table, the warnings and the summary escape it", async () => {
    const rows = ["when,x,y"];
    for (let i = 0; i < 12; i++) {
      const date = i === 6 ? `Jan 1 2012 (${EVIL})` : `2012-01-${String(i + 1).padStart(2, "0")}`;
      rows.push(`"${date}",${(i * 7) % 5},${(i * 3) % 4}`);
    }
    const result = await runCli(
      [
        "monitor",
        "-",
        "-c",
        "when.cos",
        "-f",
        "x,y",
        "--date-column",
        "when",
        "-b",
        "3",
        "--tol",
        "0",
        "--on-bad-row",
        "skip",
      ],
      `${rows.join("\n")}\n`,
    );
    assert.equal(result.code, 0, result.stderr);
    assertNoRawControl(result, "date cell");
    // Read as a date, it shows escaped in the table; refused as one, its bad-row warning shows it escaped.
    assert.ok(
      result.stdout.includes(ESCAPED) || result.stderr.includes(ESCAPED),
      `${result.stdout}\n${result.stderr}`,
    );
  });

  test("a file name holding escapes: the summary and the not-a-readable-file error escape it", async () => {
    const path = join(dir, `evil${EVIL}.csv`);
    writeFileSync(path, clean);
    const read = await runCli(["monitor", path, ...MONITOR]);
    assert.equal(read.code, 0, read.stderr);
    assertNoRawControl(read, "file name");
    assert.match(read.stderr, /rows from .*evil\\u001b\]2;PWNED\\u0007/);
    const missing = await runCli(["monitor", `${path}.missing`, ...MONITOR]);
    assert.equal(missing.code, 2);
    assertNoRawControl(missing, "missing file name");
    assert.match(
      missing.stderr,
      /must be a readable file or pipe: current value is ".*evil\\u001b\]2;PWNED/,
    );
  });

  test("options holding escapes (a column, a flag value, an unknown flag, output paths) are escaped in every message", async () => {
    const cases: string[][] = [
      ["monitor", join(dir, "clean.csv"), "-c", `c${EVIL}`],
      ["monitor", join(dir, "clean.csv"), "-c", "c", "--tol", EVIL],
      ["monitor", join(dir, "clean.csv"), "-c", "c", `--bogus${EVIL}`],
      ["monitor", join(dir, "clean.csv"), "-c", "c", "-r", join(dir, `nope${EVIL}`, "r.html")],
      ["generate", "--output", join(dir, `nope${EVIL}`, "x.csv")],
      ["export-onnx", "-f", "1", "-c", "1", "--output", join(dir, `nope${EVIL}`, "m.onnx")],
    ];
    for (const args of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assertNoRawControl(result, args.join(" "));
    }
    const written = await runCli([
      "generate",
      "--batches",
      "2",
      "--output",
      join(dir, `rows${EVIL}.csv`),
    ]);
    assert.equal(written.code, 0, written.stderr);
    assertNoRawControl(written, "generate --output");
    const report = join(dir, `report${EVIL}.html`);
    const reported = await runCli([
      "monitor",
      join(dir, "clean.csv"),
      "-c",
      "c",
      "-b",
      "10",
      "-r",
      report,
    ]);
    assert.equal(reported.code, 0, reported.stderr);
    assertNoRawControl(reported, "--report");
    assert.match(reported.stdout, /report written to .*report\\u001b\]2;PWNED/);
  });
});

interface ClosedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Milliseconds from the close to the exit. */
  afterClose: number;
}

/**
 * Runs the CLI and closes the reading end of its standard output (or error)
 * after the first bytes, as `| head -1` does; a run still alive 30 s later is
 * killed (it spins or hangs) and reported with signal SIGKILL.
 */
function runClosingEarly(args: string[], closed: "stdout" | "stderr"): Promise<ClosedRun> {
  const [command, prefix] = cliCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stderr = "";
    let closedAt = Date.now();
    const other = closed === "stdout" ? child.stderr! : child.stdout!;
    other.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    const pipe = closed === "stdout" ? child.stdout! : child.stderr!;
    pipe.once("data", () => {
      closedAt = Date.now();
      pipe.destroy();
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      resolve({
        code,
        signal,
        stderr: closed === "stdout" ? stderr : "",
        afterClose: Date.now() - closedAt,
      });
    });
  });
}

/** Ended quietly as a shell expects after SIGPIPE: status 141 (or 0), no message, no stack trace. */
function assertQuietEnd(run: ClosedRun, what: string): void {
  assert.equal(
    run.signal,
    null,
    `${what}: killed by ${run.signal} (still running 30 s after the close)`,
  );
  assert.ok(run.code === 141 || run.code === 0, `${what}: exit ${run.code}: ${run.stderr}`);
  assert.equal(run.stderr, "", what);
}

describe("outputs whose reader goes away (subprocess)", () => {
  let many = "";
  before(() => {
    many = join(dir, "many.csv");
    writeFileSync(
      many,
      [...driftDataLines({ ...CLEAN, batches: 2000, batchSize: 50 }, "csv")].join(""),
    );
  });

  test("monitor | head -1: the table, and NDJSON, end quietly with status 141", async () => {
    for (const format of ["table", "ndjson"]) {
      const run = await runClosingEarly(
        ["monitor", many, "-c", "c", "-b", "3", "--tol", "0", "--format", format],
        "stdout",
      );
      assertQuietEnd(run, `--format ${format}`);
      assert.equal(run.code, 141);
    }
  });

  test("generate | head -1 ends quietly with status 141", async () => {
    const run = await runClosingEarly(["generate", "--batches", "100000"], "stdout");
    assertQuietEnd(run, "generate");
    assert.equal(run.code, 141);
  });

  test("a closed standard error (the progress line's reader gone) ends the run quietly with status 141", async () => {
    const run = await runClosingEarly(
      [
        "monitor",
        many,
        "-c",
        "c",
        "-b",
        "3",
        "--tol",
        "0",
        "--progress",
        "always",
        "--format",
        "ndjson",
      ],
      "stderr",
    );
    assertQuietEnd(run, "stderr");
    assert.equal(run.code, 141);
  });

  test("generate --output to a named pipe whose reader goes away ends quietly with status 141", {
    skip: process.platform === "win32" ? "no mkfifo" : false,
  }, async () => {
    const fifo = join(dir, "rows.fifo");
    if (spawnSync("mkfifo", [fifo]).status !== 0) return;
    const run = runCli(["generate", "--batches", "100000", "--output", fifo]);
    await new Promise<void>((go, fail) => {
      const reader = spawn("head", ["-c", "100", fifo], { stdio: ["ignore", "ignore", "ignore"] });
      reader.on("error", fail).on("close", () => go());
    });
    const result = await run;
    assert.equal(result.code, 141, result.stderr);
    assert.equal(result.stderr, "");
  });
});

describe("outputs that cannot be written (subprocess)", () => {
  const noTrace = (text: string, what: string) => {
    assert.doesNotMatch(text, /internal error|Uncaught|\n\s+at /, what);
  };

  test("generate --output: a directory, /dev/full and a missing folder exit 2 naming the path and the reason", async () => {
    const cases: [string, RegExp][] = [
      [dir, /\(a directory/],
      [join(dir, "nope", "x.csv"), /the folder ".*nope" does not exist/],
    ];
    if (existsSync("/dev/full")) cases.push(["/dev/full", /(ENOSPC|No space left on device)/]);
    for (const [path, reason] of cases) {
      const result = await runCli(["generate", "--output", path]);
      assert.equal(result.code, 2, `${path}: ${result.stderr}`);
      assert.match(
        result.stderr,
        /Cannot write the rows as --output must name a writable file: current value is "/,
        path,
      );
      assert.match(result.stderr, reason, path);
      noTrace(result.stderr, path);
    }
  });

  test("export-onnx --output and monitor --report: a directory, /dev/full and a missing folder exit 2 naming the path", async () => {
    const targets = [
      dir,
      join(dir, "nope", "x"),
      ...(existsSync("/dev/full") ? ["/dev/full"] : []),
    ];
    for (const path of targets) {
      const model = await runCli(["export-onnx", "-f", "2", "-c", "1", "--output", path]);
      assert.equal(model.code, 2, `${path}: ${model.stderr}`);
      assert.match(model.stderr, /Cannot write the model as --output must name a writable file/);
      noTrace(model.stderr, path);
      const report = await runCli([
        "monitor",
        join(dir, "clean.csv"),
        ...MONITOR,
        "--report",
        path,
      ]);
      assert.equal(report.code, 2, `${path}: ${report.stderr}`);
      assert.match(report.stderr, /Cannot write the report as --report must name a writable file/);
      noTrace(report.stderr, path);
    }
  });

  test("monitor --report refuses a directory before reading a row, and a full disk after printing the summary", async () => {
    const early = await runCli(["monitor", join(dir, "clean.csv"), ...MONITOR, "--report", dir]);
    assert.equal(early.code, 2);
    assert.equal(early.stdout, "");
    assert.deepEqual(rowCounts(early.stderr), { read: 0, used: 0, rejected: 0 });
    if (!existsSync("/dev/full")) return;
    const late = await runCli([
      "monitor",
      join(dir, "clean.csv"),
      "-c",
      "c",
      "-b",
      "10",
      "--report",
      "/dev/full",
    ]);
    assert.equal(late.code, 2, late.stderr);
    assert.match(late.stdout, /4 batches, 40 rows from .*clean\.csv; final running loss/);
  });

  test(
    "standard output on a full disk (/dev/full) exits 2 naming standard output, for every command",
    {
      skip: existsSync("/dev/full") ? false : "no /dev/full here",
    },
    async () => {
      const [command, prefix] = cliCommand();
      for (
        const args of [["generate"], ["monitor", join(dir, "clean.csv"), ...MONITOR], [
          "export-onnx",
          "-f",
          "2",
          "-c",
          "1",
        ]]
      ) {
        const full = openSync("/dev/full", "w");
        const result = await new Promise<{ code: number | null; stderr: string }>(
          (resolve, reject) => {
            const child = spawn(command, [...prefix, ...args], {
              cwd: ROOT,
              stdio: ["ignore", full, "pipe"],
              env: { ...process.env, NO_COLOR: "1" },
            });
            let stderr = "";
            child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
            child.on("error", reject);
            child.on("close", (code) => resolve({ code, stderr }));
          },
        );
        closeSync(full);
        assert.equal(result.code, 2, `${args[0]}: ${result.stderr}`);
        assert.match(
          result.stderr,
          /Cannot write to standard output as it must accept all the output: current one failed \((ENOSPC|No space left)/,
        );
        assert.doesNotMatch(result.stderr, /internal error|\n\s+at /, args[0]);
      }
    },
  );

  test("monitor --report naming the input file is refused before the input is overwritten", async () => {
    const input = join(dir, "precious.csv");
    writeFileSync(input, clean);
    const result = await runCli(["monitor", input, ...MONITOR, "--report", input]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /the input file itself, which the report would overwrite/);
    assert.equal(readFileSync(input, "utf8"), clean);
  });
});

describe("what the CLI touches (Deno permissions)", () => {
  const skip = deno === undefined ? "Bun has no permission sandbox; run under Deno" : false;

  test(
    "monitor runs with read access to the input and the package only, write access to the report only, no environment and no network",
    { skip },
    async () => {
      const input = join(dir, "clean.csv");
      const report = join(dir, "report.html");
      const flags = [
        "--no-prompt",
        `--allow-read=${input},${ROOT}`,
        `--allow-write=${report}`,
      ];
      const result = await runCli(["monitor", input, ...MONITOR, "--report", report], "", flags);
      assert.equal(result.code, 0, result.stderr);
      assert.match(readFileSync(report, "utf8"), /batch-corr drift report/);
      assert.deepEqual(rowCounts(result.stderr), { read: 40, used: 40, rejected: 0 });
      // The sandbox is real: a report path outside --allow-write is refused.
      const elsewhere = await runCli(
        ["monitor", input, ...MONITOR, "--report", join(dir, "other.html")],
        "",
        flags,
      );
      assert.equal(elsewhere.code, 2);
      assert.match(
        elsewhere.stderr,
        /Cannot write the report as --report must name a writable file: .*other\.html/,
      );
      assert.ok(!existsSync(join(dir, "other.html")));
    },
  );
});
