/**
 * Property tests of the CLI: hostile header names and NDJSON keys
 * (repeats, empty names, terminal escapes, prototype names) against an
 * independent reference, and outputs whose reader goes away at a random
 * moment. In process where it can be (`main()` with test streams, RUNS
 * cases); the closed-pipe property also runs the real CLI as a subprocess,
 * BATCHCORR_FUZZ_PROCESS_RUNS times (a process each).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import process from "node:process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { main } from "../../src/cli/main.ts";
import type { CliIo } from "../../src/cli/cli_io.ts";
import { driftDataLines } from "../../src/cli/input/drift_data.ts";
import { checkedTextSink, drainingSink } from "../../src/cli/output/output_sink.ts";
import { quoteInput } from "../../src/cli/output/safe_text.ts";
import { assertNoPollution, RUNS, SEED } from "../fuzz_support.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PROCESS_RUNS = Number(process.env.BATCHCORR_FUZZ_PROCESS_RUNS ?? 3);
const encoder = new TextEncoder();

// deno-lint-ignore no-control-regex -- finding raw control characters is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Names an attacker or a careless spreadsheet would put in a header. */
const PROTOTYPE_NAMES = [
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "prototype",
  "__defineGetter__",
];
const ESCAPES = ["\u001b[2J", "\u001b]2;PWNED\u0007", "\u202e", "\u0085", "\u009b31m", "\u0007"];
const CONFOUND = "conf";

/** One header name: plain, empty, padded, an escape, a prototype name, the confound's, or anything. */
const headerName: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("", " ", "x", " x", "x ", "a b", CONFOUND, ...PROTOTYPE_NAMES),
  fc.constantFrom(...ESCAPES).map((escape) => `n${escape}`),
  fc.string({ maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 4 }),
).map((name) =>
  // Not what this property is about: NUL (refused as binary), CR (a line end), a BOM (dropped), lone surrogates (U+FFFD).
  name.replace(/[\r\ufeff]/g, "").replaceAll(String.fromCharCode(0), "").replace(
    /[\ud800-\udfff]/g,
    "",
  )
);

/** A CSV field, quoted so that commas, quotes and newlines in names survive. */
function csvField(text: string): string {
  return `"${text.replace(/"/g, '""')}"`;
}

/** The first name (in order of its first repeat) given more than once, or undefined. */
function firstRepeat(names: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/** Pearson's r by the two-pass formula; 0 for a constant column (the CLI's zero-variance rule). */
function pearson(a: readonly number[], b: readonly number[]): number {
  const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const [ma, mb] = [mean(a), mean(b)];
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

/** Captured in-process streams for `main()`. */
function memoryIo(stdin: string): CliIo & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: { write: (text: string) => void (io.out += text) },
    stderr: { write: (text: string) => void (io.err += text) },
    stdin: () => [encoder.encode(stdin)],
    stderrIsTty: false,
  };
  return io;
}

function assertNoRawControl(io: { out: string; err: string }): void {
  assert.equal(io.out.search(RAW_CONTROL), -1, `raw control character on stdout: ${io.out}`);
  assert.equal(io.err.search(RAW_CONTROL), -1, `raw control character on stderr: ${io.err}`);
}

describe("CLI header names (property)", () => {
  test("repeated names (after trimming, empty ones included) exit 2 naming the repeat; distinct ones give the reference loss", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(headerName, { minLength: 1, maxLength: 6 }),
        fc.array(fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 8, maxLength: 8 }), {
          minLength: 7,
          maxLength: 7,
        }),
        async (features, columns) => {
          const header = [...features, CONFOUND];
          const rows = columns[0]!.map((_, r) => header.map((_, c) => columns[c % 7]![r]!));
          const text = [header.map(csvField).join(","), ...rows.map((row) => row.join(","))]
            .join("\n");
          const io = memoryIo(`${text}\n`);
          const args = ["monitor", "-", "-c", CONFOUND, "--tol", "0", "-b", "100"];
          const code = await main([...args, "--format", "ndjson"], io);
          assertNoRawControl(io);
          assertNoPollution();
          const names = header.map((name) => name.trim());
          const repeated = firstRepeat(names);
          if (repeated !== undefined) {
            assert.equal(code, 2, io.err);
            assert.match(
              io.err,
              /Cannot read the columns of the input as their names must be unique/,
            );
            assert.ok(
              io.err.includes(quoteInput(repeated, 40)),
              `${quoteInput(repeated, 40)} in ${io.err}`,
            );
            assert.equal(io.out, "");
            return;
          }
          assert.equal(code, 0, io.err);
          const confound = rows.map((row) => row[row.length - 1]!);
          const rs = features.map((_, f) =>
            Math.abs(pearson(rows.map((row) => row[f]!), confound))
          );
          const expected = rs.reduce((s, r) => s + r, 0) / rs.length;
          const record = JSON.parse(io.out.trim());
          assert.ok(
            Math.abs(record.loss - expected) <= 1e-12,
            `loss ${record.loss} vs ${expected}`,
          );
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("an NDJSON object that repeats a key (escaped spellings included) is a bad row; the others are used", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(headerName.filter((name) => name !== CONFOUND), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.array(fc.option(fc.nat(20), { nil: undefined }), { minLength: 4, maxLength: 12 }),
        fc.boolean(),
        async (keys, plan, escaped) => {
          // Each line: every key once with the confound, or (a number) one key given again.
          const lines = plan.map((repeat, i) => {
            const entries = [...keys, CONFOUND].map((key, k) =>
              `${JSON.stringify(key)}:${(i * (k + 3)) % 7}`
            );
            if (repeat !== undefined) {
              const key = keys[repeat % keys.length]!;
              // Escaped: the same key spelled with \u escapes, which JSON.parse reads as the same name.
              const spelled = escaped
                ? `"${
                  [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(
                    "",
                  )
                }"`
                : JSON.stringify(key);
              entries.splice(1, 0, `${spelled}:99`);
            }
            return `{${entries.join(",")}}`;
          });
          const io = memoryIo(`${lines.join("\n")}\n`);
          const code = await main([
            "monitor",
            "-",
            "--input-format",
            "ndjson",
            "-c",
            CONFOUND,
            "--tol",
            "0",
            "--on-bad-row",
            "skip",
            "--format",
            "ndjson",
          ], io);
          assertNoRawControl(io);
          assertNoPollution();
          const rejected = plan.filter((repeat) => repeat !== undefined).length;
          if (rejected === plan.length) {
            // No object is usable, so no column is known: refused before any row.
            assert.equal(code, 2, io.err);
            return;
          }
          assert.equal(code, 0, io.err);
          const counts = /rows read (\d+), used (\d+), rejected (\d+)/.exec(io.err);
          assert.ok(counts, io.err);
          assert.deepEqual(counts.slice(1).map(Number), [
            plan.length,
            plan.length - rejected,
            rejected,
          ]);
          // The first ten bad rows are named on stderr, each with its repeated key.
          assert.equal((io.err.match(/: duplicate key /g) ?? []).length, Math.min(rejected, 10));
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

/** A writable that breaks after `writes` writes, the way a closed pipe does in one of three ways. */
class BreakingWritable extends EventEmitter {
  written = 0;
  afterBreak = 0;
  destroyed = false;
  constructor(
    readonly writes: number,
    readonly mode: "async-error" | "full-then-error" | "throws",
  ) {
    super();
  }
  write(_chunk: string): boolean {
    if (this.destroyed) {
      this.afterBreak++;
      return false;
    }
    if (this.written++ < this.writes) return true;
    const error = Object.assign(new Error("write EPIPE"), { code: "EPIPE" });
    if (this.mode === "throws") throw error;
    this.destroyed = true;
    setTimeout(() => this.emit("error", error), 0);
    return this.mode === "async-error";
  }
}

const SMALL_DRIFT = [
  ...driftDataLines(
    { batches: 25, batchSize: 6, features: 3, driftBatch: 12, strength: 0.8, seed: 4 },
    "csv",
  ),
].join("");

const COMMANDS: Record<string, string[]> = {
  table: ["monitor", "-", "-c", "c", "-b", "3", "--tol", "0"],
  ndjson: ["monitor", "-", "-c", "c", "-b", "3", "--tol", "0", "--format", "ndjson"],
  progress: ["monitor", "-", "-c", "c", "-b", "3", "--tol", "0", "--progress", "always"],
  generate: ["generate", "--batches", "30", "--batch-size", "100"],
  generateNdjson: ["generate", "--batches", "30", "--batch-size", "100", "--format", "ndjson"],
};

describe("closed outputs (property)", () => {
  test("in process: whichever output breaks, after any number of writes and however it breaks, main returns 141 quietly", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(COMMANDS)),
        fc.constantFrom("stdout" as const, "stderr" as const),
        fc.nat(55),
        fc.constantFrom("async-error" as const, "full-then-error" as const, "throws" as const),
        async (command, broken, writes, mode) => {
          const stream = new BreakingWritable(writes, mode);
          // Writes the CLI attempts once the stream has broken (the sinks refuse them).
          let attemptedAfter = 0;
          const count = <T>(write: (text: string) => T) => (text: string): T => {
            if (stream.destroyed || stream.written > writes) attemptedAfter++;
            return write(text);
          };
          const fine = { text: "", write: (text: string) => void (fine.text += text) };
          const stdout = drainingSink(stream);
          const stderr = checkedTextSink(stream, "standard error");
          const io: CliIo = {
            stdout: broken === "stdout" ? { write: count((t) => stdout.write(t)) } : fine,
            stderr: broken === "stderr" ? { write: count((t) => stderr.write(t)) } : fine,
            stdin: () => [encoder.encode(SMALL_DRIFT)],
            // The progress line is drawn on stderr only for a terminal (or --progress always).
            stderrIsTty: true,
          };
          let timer: ReturnType<typeof setTimeout> | undefined;
          const hang = new Promise<string>((go) => (timer = setTimeout(() => go("hang"), 20_000)));
          const code = await Promise.race([main(COMMANDS[command]!, io), hang]);
          clearTimeout(timer);
          const what = `${command}, ${broken} broken after ${writes} writes (${mode})`;
          assert.notEqual(code, "hang", `${what}: main() still running after 20 s`);
          assert.equal(stream.afterBreak, 0, `${what}: written after the break`);
          assert.doesNotMatch(fine.text, /batch-corr: |internal error|\n\s+at /, what);
          // A break is seen by the write that meets it (thrown, or on stdout a buffer that never
          // drains; stderr does not wait for drains) or by the next write; one that only errors
          // after the last write leaves the run's own status, as the brief allows (141 or 0).
          const broke = stream.written > writes;
          const meets = mode === "throws" || (broken === "stdout" && mode === "full-then-error");
          const seen = broke && (meets || attemptedAfter > 0);
          if (seen) assert.equal(code, 141, what);
          else assert.ok(code === 0 || code === 3, `${what}: ${code}`);
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test(
    "as a subprocess: closing stdout or stderr after a random number of bytes ends the run quietly with 141",
    {
      timeout: 600_000,
    },
    async () => {
      const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
      const [command, prefix] = deno !== undefined
        ? [deno.execPath(), ["run", "-A", "cli.ts"]]
        : [process.execPath, ["cli.ts"]];
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.record({
              which: fc.constantFrom("monitor", "generate"),
              closed: fc.constant("stdout" as const),
              after: fc.constantFrom(0, 1, 100, 5000, 70_000),
            }),
            // Standard error carries a few kilobytes (the progress line, then the summary at the end).
            fc.record({
              which: fc.constant("monitor"),
              closed: fc.constant("stderr" as const),
              after: fc.constantFrom(0, 1, 100),
            }),
          ),
          async ({ which, closed, after }) => {
            const args = which === "generate" ? ["generate", "--batches", "4000"] : [
              "monitor",
              "-",
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
            ];
            const run = await new Promise<{ code: number | null; signal: string | null }>(
              (resolve, reject) => {
                const child = spawn(command, [...prefix, ...args], {
                  cwd: ROOT,
                  stdio: ["pipe", "pipe", "pipe"],
                  env: { ...process.env, NO_COLOR: "1" },
                });
                const pipe = closed === "stdout" ? child.stdout! : child.stderr!;
                const other = closed === "stdout" ? child.stderr! : child.stdout!;
                other.resume();
                let seen = 0;
                const close = () => pipe.destroy();
                if (after === 0) close();
                else {
                  pipe.on("data", (chunk: Uint8Array) => {
                    seen += chunk.byteLength;
                    if (seen >= after) close();
                  });
                }
                const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
                child.on("error", reject);
                child.on("close", (code, signal) => {
                  clearTimeout(killer);
                  resolve({ code, signal });
                });
                child.stdin!.on("error", () => {});
                const lines = driftDataLines(
                  {
                    batches: 2000,
                    batchSize: 50,
                    features: 3,
                    driftBatch: 9,
                    strength: 0.8,
                    seed: 2,
                  },
                  "csv",
                );
                (async () => {
                  for (const line of lines) {
                    if (child.stdin!.destroyed) return;
                    if (!child.stdin!.write(line)) {
                      await new Promise((go) => {
                        child.stdin!.once("drain", go);
                        child.stdin!.once("close", go);
                      });
                    }
                  }
                  child.stdin!.end();
                })().catch(() => {});
              },
            );
            assert.equal(
              run.signal,
              null,
              `${which} ${closed} after ${after}: killed, still running`,
            );
            assert.equal(run.code, 141, `${which} ${closed} after ${after}`);
          },
        ),
        { numRuns: PROCESS_RUNS, seed: SEED },
      );
    },
  );
});
