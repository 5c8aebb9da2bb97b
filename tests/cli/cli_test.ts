import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { batchCorr, BatchCorrelationLoss, exportBatchCorrOnnx } from "../../mod.ts";
import { main } from "../../src/cli/main.ts";
import { driftDataLines, generateDriftRows } from "../../src/cli/input/drift_data.ts";
import { mulberry32 } from "../random.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The CLI in the runtime running the tests: `deno run -A cli.ts` or `bun cli.ts`. */
function cliCommand(): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  if (deno !== undefined) return [deno.execPath(), ["run", "-A", "cli.ts"]];
  return [process.execPath, ["cli.ts"]];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], stdin?: string): Promise<RunResult> {
  const [command, prefix] = cliCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? "");
  });
}

/** As {@linkcode runCli}, keeping standard output as bytes (for export-onnx). */
function runCliBytes(
  args: string[],
): Promise<{ code: number | null; stdout: Uint8Array; stderr: string }> {
  const [command, prefix] = cliCommand();
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], {
      cwd: ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    const chunks: Uint8Array[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Uint8Array) => chunks.push(new Uint8Array(chunk)));
    child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
    child.on("error", reject);
    child.on(
      "close",
      (code) => resolve({ code, stdout: new Uint8Array(Buffer.concat(chunks)), stderr }),
    );
    child.stdin.end();
  });
}

// deno-lint-ignore no-explicit-any -- the CLI's JSON records are navigated freely in the assertions
function ndjson(text: string): Record<string, any>[] {
  return text.trim().split("\n").filter((line) => line.length > 0).map((line) => JSON.parse(line));
}

/** Captured in-process IO for `main()`. */
function memoryIo(stdin = "") {
  const io = {
    out: "",
    err: "",
    stdout: { write: (text: string) => void (io.out += text) },
    stderr: { write: (text: string) => void (io.err += text) },
    stdin: () => [new TextEncoder().encode(stdin)],
    stderrIsTty: false,
  };
  return io;
}

function close(actual: number, expected: number, what: string, tolerance = 1e-12): void {
  assert.ok(
    Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected)),
    `${what}: ${actual} vs ${expected}`,
  );
}

let dir = "";
const DRIFT = { batches: 12, batchSize: 40, features: 4, driftBatch: 7, strength: 0.9, seed: 5 };

before(() => {
  dir = mkdtempSync(join(tmpdir(), "batch-corr-cli-"));
  // 6 full batches of 20 and a partial one of 10 rows.
  writeFileSync(
    join(dir, "small.csv"),
    [...driftDataLines({
      batches: 13,
      batchSize: 10,
      features: 3,
      driftBatch: 6,
      strength: 0.7,
      seed: 11,
    }, "csv")].join(""),
  );
  writeFileSync(join(dir, "drift.csv"), [...driftDataLines(DRIFT, "csv")].join(""));
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("batch-corr CLI (subprocess)", () => {
  test("prints the help of monitor with exit code 0", async () => {
    for (const args of [["monitor", "--help"]]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, args.join(" "));
      assert.match(result.stdout, /Exit codes: /);
    }
  });

  test("NDJSON per batch equals batchCorr and BatchCorrelationLoss on the same batches, running and window views", async () => {
    const result = await runCli([
      "monitor",
      join(dir, "small.csv"),
      "--confounds",
      "c",
      "--batch-size",
      "20",
      "--window",
      "3",
      "--tol",
      "auto",
      "--format",
      "ndjson",
      "--correlations",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const records = ndjson(result.stdout);
    const rows = [
      ...generateDriftRows({
        batches: 13,
        batchSize: 10,
        features: 3,
        driftBatch: 6,
        strength: 0.7,
        seed: 11,
      }),
    ];
    assert.equal(records.length, 7);
    const loss = new BatchCorrelationLoss({ tol: "auto" });
    const split = (slice: number[][]) => ({
      X: slice.map((row) => row.slice(0, 3)),
      N: slice.map((row) => row[3]!),
    });
    records.forEach((record, i) => {
      const batch = rows.slice(i * 20, (i + 1) * 20);
      const { X, N } = split(batch);
      assert.equal(record.index, i);
      assert.equal(record.batchSize, batch.length);
      assert.equal(record.firstLine, i * 20 + 2);
      assert.equal(record.count, Math.min(rows.length, (i + 1) * 20));
      const own = batchCorr(X, N, { tol: "auto" });
      close(record.loss, loss.evaluate(X, N), `batch ${i} loss`);
      close(record.tol, own.tol, `batch ${i} tol`);
      record.correlations.batch.data.forEach((v: number, k: number) =>
        close(v, own.data[k]!, `batch ${i} r[${k}]`)
      );
      const all = split(rows.slice(0, (i + 1) * 20));
      close(record.running.loss, loss.evaluate(all.X, all.N), `running ${i}`, 1e-10);
      const running = batchCorr(all.X, all.N, { tol: "auto" });
      record.correlations.running.data.forEach((v: number, k: number) =>
        close(v, running.data[k]!, `running ${i} r[${k}]`, 1e-10)
      );
      const recent = split(rows.slice(Math.max(0, i - 2) * 20, (i + 1) * 20));
      close(record.window.loss, loss.evaluate(recent.X, recent.N), `window ${i}`, 1e-10);
      close(
        record.window.tol,
        batchCorr(recent.X, recent.N, { tol: "auto" }).tol,
        `window tol ${i}`,
        1e-10,
      );
      assert.equal(record.alert, false);
    });
  });

  test("reads standard input given as - and gives the same output as the file", async () => {
    const args = ["--confounds", "c", "--batch-size", "20", "--format", "ndjson"];
    const fromFile = await runCli(["monitor", join(dir, "small.csv"), ...args]);
    const fromStdin = await runCli(
      ["monitor", "-", ...args],
      readFileSync(join(dir, "small.csv"), "utf8"),
    );
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    assert.equal(fromStdin.stdout, fromFile.stdout);
    assert.equal(ndjson(fromStdin.stdout).length, 7);
  });

  test("detects the synthetic drift at the injected batch, within the window, and exits 3", async () => {
    const file = join(dir, "generated.csv");
    const generated = await runCli([
      "generate",
      "--output",
      file,
      "--batches",
      String(DRIFT.batches),
      "--batch-size",
      String(DRIFT.batchSize),
      "--features",
      String(DRIFT.features),
      "--drift-batch",
      String(DRIFT.driftBatch),
      "--strength",
      String(DRIFT.strength),
      "--seed",
      String(DRIFT.seed),
    ]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.equal(readFileSync(file, "utf8"), readFileSync(join(dir, "drift.csv"), "utf8"));
    const window = 3;
    const result = await runCli([
      "monitor",
      file,
      "--confounds",
      "c",
      "--batch-size",
      String(DRIFT.batchSize),
      "--window",
      String(window),
      "--alert",
      "0.1",
      "--format",
      "ndjson",
    ]);
    assert.equal(result.code, 3, result.stderr);
    const records = ndjson(result.stdout);
    const first = records.find((r) => r.alert);
    assert.ok(first, "an alert fired");
    assert.ok(
      first.index >= DRIFT.driftBatch && first.index < DRIFT.driftBatch + window,
      `first alert at batch ${first.index}`,
    );
    assert.match(result.stderr, new RegExp(`first at batch ${first.index} `));
    const quiet = memoryIo();
    assert.equal(
      await main([
        "monitor",
        file,
        "-c",
        "c",
        "-b",
        "40",
        "-w",
        "3",
        "--alert",
        "0.1",
        "--no-fail-on-alert",
        "--format",
        "ndjson",
      ], quiet),
      0,
    );
    assert.equal(quiet.out, result.stdout);
  });

  test("prints a per-batch table with the summary when not asked for NDJSON", async () => {
    const result = await runCli([
      "monitor",
      join(dir, "drift.csv"),
      "-c",
      "c",
      "-b",
      "40",
      "-w",
      "3",
      "--alert",
      "0.1",
      "--report",
      join(dir, "r.html"),
    ]);
    assert.equal(result.code, 3, result.stderr);
    const lines = result.stdout.split("\n");
    assert.match(
      lines[0]!,
      /batch\s+from line\s+rows\s+tol\s+batch loss\s+running\s+window\s+alert/,
    );
    assert.equal(lines.filter((line) => /^\s+\d+\s+\d+\s+40\s/.test(line)).length, DRIFT.batches);
    assert.match(result.stdout, /ALERT: \d+ batch\(es\) reached window loss 0.1/);
    assert.match(
      result.stdout,
      new RegExp(`report written to ${join(dir, "r.html").replace(/[\\.]/g, "\\$&")}`),
    );
    assert.match(readFileSync(join(dir, "r.html"), "utf8"), /^<!DOCTYPE html>/);
  });

  test("skips every kind of bad row with --on-bad-row skip, naming each line, and stops at the first by default", async () => {
    const csv = [
      "date,x,y,c",
      "2020-01-01,1,2,0.5", // line 2
      "2020-01-02,abc,2,0.1", // 3: non-numeric
      "2020-01-03,2,3,", // 4: missing confound
      "2020-01-04,3,1", // 5: wrong width (too few)
      "2020-01-05,3,1,2,9", // 6: wrong width (too many)
      "not a date,3,1,2", // 7: invalid date
      '2020-01-06,"4",5,0.3', // 8: fine (quoted number)
      "2020-01-07,5,4,0.9", // 9
      "2020-01-08,6,8,0.2", // 10
    ].join("\n");
    const file = join(dir, "bad.csv");
    writeFileSync(file, csv);
    const base = [
      "monitor",
      file,
      "--confounds",
      "c,date.cos",
      "--date-column",
      "date",
      "--batch-size",
      "4",
      "--format",
      "ndjson",
    ];
    const skipped = await runCli([...base, "--on-bad-row", "skip"]);
    assert.equal(skipped.code, 0, skipped.stderr);
    for (
      const [line, reason] of [
        [3, /non-numeric value "abc" in feature column "x"/],
        [4, /missing value in confound column "c"/],
        [5, /wrong width: 3 fields where the header has 4/],
        [6, /wrong width: 5 fields/],
        [7, /invalid date "not a date"/],
      ] as const
    ) {
      assert.match(skipped.stderr, new RegExp(`skipped line ${line}: ${reason.source}`));
    }
    assert.match(
      skipped.stderr,
      /skipped 5 bad row\(s\) \(1 non numeric, 1 missing value, 2 wrong width, 1 invalid date\); lines 3, 4, 5, 6, 7/,
    );
    const records = ndjson(skipped.stdout);
    assert.deepEqual(records.map((r) => [r.batchSize, r.firstLine]), [[4, 2]]);

    const stopped = await runCli(base);
    assert.equal(stopped.code, 2);
    assert.match(stopped.stderr, /Cannot use line 3 .*non-numeric value "abc"/);
  });

  test("reads NDJSON and reports its bad lines", async () => {
    const lines = [
      '{"x":1,"c":2}',
      '{"x":2,"c":1}',
      "{oops",
      "[1,2]",
      '{"x":3}',
      '{"x":"4","c":3}',
      '{"x":5,"c":true}',
      '{"x":6,"c":0}',
    ];
    const file = join(dir, "rows.ndjson");
    writeFileSync(file, lines.join("\n") + "\n");
    const result = await runCli([
      "monitor",
      file,
      "--confounds",
      "c",
      "--batch-size",
      "10",
      "--tol",
      "0",
      "--format",
      "ndjson",
      "--on-bad-row",
      "skip",
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /skipped line 3: invalid JSON/);
    assert.match(result.stderr, /skipped line 4: not a JSON object/);
    assert.match(result.stderr, /skipped line 5: missing value in confound column "c"/);
    assert.match(result.stderr, /skipped line 7: non-numeric value true in confound column "c"/);
    const [record] = ndjson(result.stdout);
    assert.equal(record!.batchSize, 4);
    const expected = new BatchCorrelationLoss({ tol: 0 }).evaluate([[1], [2], [4], [6]], [
      2,
      1,
      3,
      0,
    ]);
    close(record!.loss, expected, "NDJSON batch loss");
  });

  test("exits 2 for bad usage and a missing file", async () => {
    const cases: [string[], RegExp][] = [
      [["monitor", join(dir, "small.csv")], /--confounds must name the confound columns/],
      [["monitor", join(dir, "nope.csv"), "-c", "c"], /must be a readable file/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});

// Each test starts two CLI processes that load ONNX Runtime: seconds each on a loaded machine,
// past bun's 5 s default.
const ONNX_TIMEOUT = { timeout: 60_000 };

describe("batch-corr CLI with ONNX Runtime (subprocess)", () => {
  const MONITOR = [
    "--confounds",
    "c",
    "--batch-size",
    "20",
    "--window",
    "3",
    "--tol",
    "auto",
    "--format",
    "ndjson",
    "--correlations",
  ];

  async function compareWithTypeScript(provider: string): Promise<RunResult> {
    const file = join(dir, "small.csv");
    const [reference, onnx] = [
      await runCli(["monitor", file, ...MONITOR]),
      await runCli(["monitor", file, ...MONITOR, "--provider", provider]),
    ];
    assert.equal(onnx.code, 0, onnx.stderr);
    const expected = ndjson(reference.stdout);
    const actual = ndjson(onnx.stdout); // every stdout line is JSON: the provider notice went to stderr
    assert.equal(actual.length, 7);
    assert.equal(actual.length, expected.length);
    actual.forEach((record, i) => {
      const want = expected[i]!;
      assert.equal(record.count, want.count);
      close(record.loss, want.loss, `${provider} batch ${i} loss`, 1e-4);
      close(record.running.loss, want.running.loss, `${provider} running ${i}`, 1e-4);
      close(record.window.loss, want.window.loss, `${provider} window ${i}`, 1e-4);
      record.correlations.running.data.forEach((v: number, k: number) =>
        close(v, want.correlations.running.data[k], `${provider} running r[${k}] at ${i}`, 1e-4)
      );
    });
    // Bit-identical values everywhere would mean the float64 TypeScript kernel ran, not the float32 graph.
    // deno-lint-ignore no-explicit-any -- as ndjson()'s records
    const flat = (records: Record<string, any>[]) =>
      records.flatMap((r) => [r.loss, r.running.loss, ...r.correlations.running.data]);
    assert.notDeepEqual(
      flat(actual),
      flat(expected),
      `${provider}: the results must come from the float32 graph`,
    );
    return onnx;
  }

  test(
    "monitor --provider cpu gives the TypeScript kernel's losses and correlations to 1e-4",
    ONNX_TIMEOUT,
    async () => {
      const onnx = await compareWithTypeScript("cpu");
      assert.match(onnx.stderr, /batch moments on ONNX Runtime, provider "cpu"/);
    },
  );

  test(
    "monitor --provider wasm gives the TypeScript kernel's losses and correlations to 1e-4",
    ONNX_TIMEOUT,
    async () => {
      const onnx = await compareWithTypeScript("wasm");
      assert.match(onnx.stderr, /provider "wasm"/);
    },
  );

  test(
    "monitor --provider auto names the provider it took, and why it skipped others, on stderr only",
    ONNX_TIMEOUT,
    async () => {
      const onnx = await compareWithTypeScript("auto");
      const taken = /--provider auto took "(cuda|webgpu-native|webgpu|cpu|wasm)"/.exec(onnx.stderr);
      assert.ok(taken, onnx.stderr);
      if (taken[1] !== "cuda") {
        assert.match(
          onnx.stderr,
          /\(skipped: found onnxruntime-node 1\.30\.0; found onnxruntime-web 1\.30\.0; cuda: Cannot use the ONNX Runtime provider "cuda" as /,
        );
      }
    },
  );

  test(
    "monitor --provider cpu on columns far from zero (1e6 + 0.01·noise, both signs) skips no batch and matches the true r to 1e-4",
    ONNX_TIMEOUT,
    async () => {
      // Features base + spread·(driven noise) with base/spread from 1e6 to 1e8, both signs: float32
      // alone keeps no digit of the noise, so the graph must receive the columns shifted.
      const random = mulberry32(61);
      const columns = [[1e6, 0.01], [-3e7, 0.3], [5e5, 5e-3], [-1e4, 1e-4]] as const;
      const B = 200;
      const c = Array.from({ length: B }, () => random() - 0.5);
      const noise = columns.map((_, f) =>
        c.map((cb) => (f % 2 === 0 ? cb : -cb) * (f + 1) + (random() - 0.5))
      );
      const lines = ["x0,x1,x2,x3,c"];
      for (let b = 0; b < B; b++) {
        const xs = columns.map(([base, spread], f) => base + spread * noise[f]![b]!);
        lines.push([...xs, c[b]!].join(","));
      }
      const file = join(dir, "offset.csv");
      writeFileSync(file, lines.join("\n") + "\n");
      const args = ["-c", "c", "-b", "50", "--tol", "0", "--no-abs", "--format", "ndjson"];
      const onnx = await runCli(["monitor", file, ...args, "--correlations", "--provider", "cpu"]);
      assert.equal(onnx.code, 0, onnx.stderr);
      assert.doesNotMatch(onnx.stderr, /skipped|underflow/);
      const records = ndjson(onnx.stdout);
      assert.equal(records.length, 4);
      // The truth: Pearson r of the noise the columns were made of (a shift and scale of each column).
      const last = records[3]!.correlations.running.data as number[];
      columns.forEach((_, f) => {
        const truth = batchCorr(noise[f]!.map((v) => [v]), c, { abs: false }).data[0]!;
        close(last[f]!, truth, `running r of x${f}`, 1e-4);
      });
    },
  );

  test(
    "monitor --provider cuda exits 2 naming cuda and the reason where CUDA cannot run",
    ONNX_TIMEOUT,
    async () => {
      const result = await runCli([
        "monitor",
        join(dir, "small.csv"),
        ...MONITOR,
        "--provider",
        "cuda",
      ]);
      if (result.code === 0) {
        // A machine with working CUDA: then it must say so and agree with the TypeScript kernel.
        assert.match(result.stderr, /provider "cuda"/);
        return;
      }
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /batch-corr: Cannot use the ONNX Runtime provider "cuda" as .*(CUDA|cuda)/,
      );
      assert.doesNotMatch(result.stderr, /internal error/);
    },
  );

  test(
    "monitor --provider webgpu-native exits 2 naming the missing Vulkan loader where there is none",
    ONNX_TIMEOUT,
    async () => {
      const result = await runCli([
        "monitor",
        join(dir, "small.csv"),
        ...MONITOR,
        "--provider",
        "webgpu-native",
      ]);
      if (result.code === 0) {
        assert.match(result.stderr, /provider "webgpu-native"/); // a machine with a GPU and Vulkan
        return;
      }
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /batch-corr: Cannot use the ONNX Runtime provider "webgpu-native" as /,
      );
      assert.match(result.stderr, /libvulkan\.so\.1|no adapter it supports/);
      assert.doesNotMatch(result.stderr, /internal error/);
    },
  );

  test(
    "monitor --provider cpu without onnxruntime-node exits 2 with the package and the command that installs it",
    {
      ...ONNX_TIMEOUT,
      skip: typeof (globalThis as { Deno?: unknown }).Deno === "undefined"
        ? "needs Deno's --import-map to hide the installed package"
        : false,
    },
    async () => {
      const config = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")) as {
        imports: Record<string, string>;
      };
      const map = join(dir, "no_onnxruntime_node.json");
      writeFileSync(
        map,
        JSON.stringify({
          imports: { ...config.imports, "onnxruntime-node": "./missing/onnxruntime-node.js" },
        }),
      );
      const deno = (globalThis as unknown as { Deno: { execPath(): string } }).Deno.execPath();
      const result = await new Promise<RunResult>((resolve, reject) => {
        const child = spawn(
          deno,
          [
            "run",
            "-A",
            "--no-lock",
            `--import-map=${map}`,
            "cli.ts",
            "monitor",
            join(dir, "small.csv"),
            ...MONITOR,
            "--provider",
            "cpu",
          ],
          { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } },
        );
        let stdout = "", stderr = "";
        child.stdout.setEncoding("utf8").on("data", (text: string) => (stdout += text));
        child.stderr.setEncoding("utf8").on("data", (text: string) => (stderr += text));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /batch-corr: Cannot use the ONNX Runtime provider "cpu" as the optional package onnxruntime-node \(\^1\.30\.0\) must be installed: current value is not installed/,
      );
      assert.match(
        result.stderr,
        /"deno add npm:onnxruntime-node@\^1\.30\.0" \(Deno\), "bun add onnxruntime-node@\^1\.30\.0" \(Bun\)/,
      );
      assert.doesNotMatch(result.stderr, /internal error/);
    },
  );

  test(
    "export-onnx writes exportBatchCorrOnnx's bytes, which onnxruntime-node runs to batchCorr's values",
    ONNX_TIMEOUT,
    async () => {
      const file = join(dir, "graph.onnx");
      const result = await runCli([
        "export-onnx",
        "--features",
        "3",
        "--confounds",
        "2",
        "--no-abs",
        "--output",
        file,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, "");
      assert.match(
        result.stderr,
        /inputs x float32 \(batch, 3\), n float32 \(2, batch\), tol float32 scalar; outputs raw, thresholded \(3, 2\).*opset 15, IR version 8/,
      );
      const bytes = new Uint8Array(readFileSync(file));
      // protobufjs may return a Buffer; compare the bytes alone.
      assert.deepEqual(
        bytes,
        new Uint8Array(exportBatchCorrOnnx({ features: 3, confounds: 2, abs: false })),
      );

      const rows = [
        ...generateDriftRows({
          batches: 1,
          batchSize: 25,
          features: 3,
          driftBatch: 0,
          strength: 0.8,
          seed: 3,
        }),
      ];
      const X = rows.map((row) => row.slice(0, 3));
      const N = [rows.map((row) => row[3]!), rows.map((row) => 0.3 * row[1]! - row[0]!)];
      const ort = await import("onnxruntime-node");
      const session = await ort.InferenceSession.create(bytes);
      try {
        const out = await session.run({
          x: new ort.Tensor("float32", Float32Array.from(X.flat()), [25, 3]),
          n: new ort.Tensor("float32", Float32Array.from(N.flat()), [2, 25]),
          tol: new ort.Tensor("float32", Float32Array.from([0.1]), []),
        });
        const expected = batchCorr(X, N, { tol: 0.1, abs: false });
        const raw = batchCorr(X, N, { tol: 0, abs: false });
        assert.deepEqual(out.thresholded!.dims, [3, 2]);
        Array.from(out.thresholded!.data as Float32Array).forEach((v, k) =>
          close(v, expected.data[k]!, `thresholded[${k}]`, 1e-4)
        );
        Array.from(out.raw!.data as Float32Array).forEach((v, k) =>
          close(v, raw.data[k]!, `raw[${k}]`, 1e-4)
        );
        assert.ok(
          Array.from(expected.data).some((v) => v < -0.05),
          "the fixture has a negative thresholded correlation (--no-abs kept its sign)",
        );
      } finally {
        await session.release();
      }

      const piped = await runCliBytes(["export-onnx", "-f", "3", "-c", "2", "--no-abs"]);
      assert.equal(piped.code, 0, piped.stderr);
      assert.deepEqual(piped.stdout, bytes);
      assert.match(piped.stderr, /to standard output/);
    },
  );
});

describe("batch-corr main() (in process)", () => {
  test("prints the help of the program, generate and export-onnx with exit code 0", async () => {
    for (
      const args of [[], ["--help"], ["generate", "--help"], ["export-onnx", "-h"], [
        "help",
        "monitor",
      ]]
    ) {
      const io = memoryIo();
      assert.equal(await main(args, io), 0);
      assert.match(io.out, /Exit codes: /);
    }
  });

  test("returns 2 for each kind of bad usage, naming the rule and the value", async () => {
    const file = join(dir, "small.csv");
    const cases: [string[], RegExp][] = [
      [
        ["monitor", file, "-c", "c", "--batch-size", "0"],
        /--batch-size must be a positive integer: current value is "0"/,
      ],
      [
        ["monitor", file, "-c", "c", "--tol=-1"],
        /--tol must be a finite non-negative number or "auto": current value is "-1"/,
      ],
      [
        ["monitor", file, "-c", "c", "--tol-sig", "1"],
        /--tol-sig must be a number in the open interval \(0, 1\)/,
      ],
      [
        ["monitor", file, "-c", "c", "--scalarisation", "median"],
        /--scalarisation must be "sum", "mean"/,
      ],
      [
        ["monitor", file, "-c", "c", "--format", "xml"],
        /--format must be "table", "ndjson" or "arrow"/,
      ],
      [
        ["monitor", file, "-c", "c", "--on-bad-row", "ignore"],
        /--on-bad-row must be "skip" or "error"/,
      ],
      [["monitor", file, "-c", "c", "--batch-size"], /argument missing/],
      [["monitor", file, "other.csv", "-c", "c"], /one file path/],
      [["monitor", "--demo", file], /omitted/],
      [
        ["monitor", file, "-c", "c", "--window", "2", "--decay", "0.9"],
        /--window and --decay must not both be given/,
      ],
      [["monitor", file, "-c", "zzz"], /Cannot select column "zzz"/],
      [
        ["monitor", file, "-c", "c", "--date-column", "when"],
        /--date-column as it must name a column/,
      ],
      [
        ["generate", "--batches", "4", "--drift-batch", "4"],
        /--drift-batch must be below --batches \(4\)/,
      ],
      [["generate", "--strength", "2"], /--strength must be a number in \[0, 1\]/],
      // A row of 10^9 features would be allocated whole (and monitor reads 100000 columns by default).
      [["generate", "--features", "1e9"], /--features must be a positive integer of at most 99999/],
      [
        ["export-onnx", "--output", join(dir, "g.onnx"), "-f", "3"],
        /--features and --confounds must give F and M .*--confounds is none/,
      ],
      [
        ["export-onnx", "-f", "0", "-c", "1"],
        /--features must be a positive integer .*current value is "0"/,
      ],
      [
        ["export-onnx", "-f", "2", "-c", "1", "--zero-variance", "inf"],
        /--zero-variance must be "zero" or "nan"/,
      ],
      [["export-onnx", "-f", "2", "-c", "1", "g.onnx"], /options only/],
      [["monitor", file, "-c", "c", "--bogus"], /Unknown option '--bogus'/],
      [
        ["monitor", file, "-c", "c", "--provider", "bogus"],
        /--provider must be "auto", "wasm", "webgpu", "webgpu-native", "cpu" or "cuda": current value is "bogus"/,
      ],
      [["frobnicate"], /the command must be monitor, generate, export-onnx, publish or worker/],
      [
        ["monitor", file, "-c", "c", "--alert", "0", "--alert-on", "window"],
        /--alert-on "window" must come with --window or --decay .*: current value has neither/,
      ],
    ];
    for (const [args, message] of cases) {
      const io = memoryIo();
      assert.equal(await main(args, io), 2, `${args.join(" ")}: ${io.err}`);
      assert.match(io.err, message);
    }
  });

  test("returns 2 with the line for each bad-row kind under the default policy", async () => {
    const inputs: [string, RegExp][] = [
      ["x,c\n1,2\n2,x\n", /line 3 .*non-numeric value "x"/],
      ["x,c\n1,2\n2,\n", /line 3 .*missing value in confound column "c"/],
      ["x,c\n1,2\n2\n", /line 3 .*wrong width: 1 fields where the header has 2/],
      ["x,c\n1,2\n\n\n2,3,4\n", /line 5 .*wrong width: 3 fields/],
    ];
    for (const [text, message] of inputs) {
      const io = memoryIo(text);
      assert.equal(await main(["monitor", "-", "-c", "c", "--format", "ndjson"], io), 2, text);
      assert.match(io.err, message);
    }
  });

  test("reports a batch the library rejects as skipped, with its reason, instead of dropping it", async () => {
    const io = memoryIo("x,c\n1,2\n2,3\n3,5\n4,4\n5,1\n");
    assert.equal(await main(["monitor", "-", "-c", "c", "-b", "4", "--format", "ndjson"], io), 0);
    const [full, partial] = ndjson(io.out);
    assert.equal(full!.batchSize, 4);
    assert.equal(partial!.index, 1);
    assert.equal(partial!.firstLine, 6);
    assert.equal(partial!.loss, null);
    assert.match(partial!.skipped.reason, /tol "auto" must be at least 3/);
    assert.match(io.err, /skipped 1 batch\(es\): batch 1: /);
  });

  test("monitor --format arrow refuses a terminal and a text-only standard output, naming --output", async () => {
    const file = "tests/fixtures/columnar/drift.parquet";
    const args = ["monitor", file, "-c", "motion", "--format", "arrow"];
    const tty = Object.assign(memoryIo(), {
      stdoutIsTty: true,
      stdoutBytes: () => Promise.reject(new Error("must not be called")),
    });
    assert.equal(await main(args, tty), 2);
    assert.match(
      tty.err,
      /--output results\.arrows\) or a pipe: current standard output is a terminal/,
    );
    const textOnly = memoryIo();
    assert.equal(await main(args, textOnly), 2);
    assert.match(textOnly.err, /accepts binary data: current one takes text only \(use --output\)/);
  });

  test("export-onnx refuses a terminal as standard output and writes the model bytes to a binary one", async () => {
    const tty = Object.assign(memoryIo(), {
      stdoutIsTty: true,
      stdoutBytes: () => Promise.reject(new Error("must not be called")),
    });
    assert.equal(await main(["export-onnx", "-f", "2", "-c", "1"], tty), 2);
    assert.match(
      tty.err,
      /binary output must go to a file \(--output graph.onnx\) or a pipe: current standard output is a terminal/,
    );
    const written: Uint8Array[] = [];
    const piped = Object.assign(memoryIo(), {
      stdoutIsTty: false,
      stdoutBytes: (bytes: Uint8Array) => {
        written.push(new Uint8Array(bytes));
        return Promise.resolve();
      },
    });
    assert.equal(
      await main(["export-onnx", "-f", "2", "-c", "1", "--zero-variance", "nan", "-o", "-"], piped),
      0,
      piped.err,
    );
    assert.deepEqual(written, [
      new Uint8Array(exportBatchCorrOnnx({ features: 2, confounds: 1, zeroVariance: "nan" })),
    ]);
    assert.equal(piped.out, "");
  });

  test("returns 1 for an internal error such as a failing output stream", async () => {
    const io = memoryIo("x,c\n1,2\n2,3\n3,5\n");
    io.stdout.write = () => {
      throw new Error("disk on fire");
    };
    assert.equal(await main(["monitor", "-", "-c", "c"], io), 1);
    assert.match(io.err, /internal error: Error: disk on fire/);
  });

  test("--abs/--no-abs: the last one given wins", async () => {
    const text = "x,c\n1,4\n2,3\n3,2\n4,1\n";
    const signed = memoryIo(text);
    await main([
      "monitor",
      "-",
      "-c",
      "c",
      "--tol",
      "0",
      "--abs",
      "--no-abs",
      "--scalarisation",
      "sum",
      "--format",
      "ndjson",
    ], signed);
    close(ndjson(signed.out)[0]!.loss, -1, "signed loss");
    const absolute = memoryIo(text);
    await main([
      "monitor",
      "-",
      "-c",
      "c",
      "--tol",
      "0",
      "--no-abs",
      "--abs",
      "--scalarisation",
      "sum",
      "--format",
      "ndjson",
    ], absolute);
    close(ndjson(absolute.out)[0]!.loss, 1, "absolute loss");
  });
});
