/**
 * The fixed CLI runs of the golden test (`golden_cli_test.ts`), how to run
 * one as a subprocess, and how its outcome is reduced to what
 * `tests/fixtures/golden_cli.json` stores: the exit code, standard error in
 * full, and standard output and written files as SHA-256, length and first
 * lines. The temporary directory is written `<tmp>` in arguments and outputs.
 *
 * @module
 */

import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));

/** Where the golden outcomes are stored. */
export const GOLDEN_PATH: string = join(ROOT, "tests", "fixtures", "golden_cli.json");

/** The runtimes the golden outcomes are recorded under. */
export type Runtime = "deno" | "bun";

/** One fixed run of the CLI. */
export interface GoldenCase {
  /** What the run shows, as a sentence. */
  name: string;
  /** The arguments after `cli.ts`; `<tmp>` stands for the temporary directory. */
  args: string[];
  /** A file of the temporary directory fed as standard input. */
  stdinFile?: string;
  /** Files of the temporary directory the run writes, to be hashed. */
  writes?: string[];
}

/** A hashed output. */
export interface HashedOutput {
  /** SHA-256 of the bytes, hex. */
  sha256: string;
  /** The length in bytes. */
  bytes: number;
  /** The first lines (text outputs only), to see what differs when the hash does. */
  head?: string;
}

/** What a run produced, as stored. */
export interface Outcome {
  /** The exit code. */
  code: number | null;
  /** Standard output. */
  stdout: HashedOutput;
  /** Standard error, in full. */
  stderr: string;
  /** The written files. */
  files?: Record<string, HashedOutput>;
}

/** A case with its stored outcome: one for every runtime, or one per runtime where they differ. */
export interface GoldenEntry extends GoldenCase {
  /** The outcome under every runtime. */
  expected?: Outcome;
  /** The outcome under Deno, where it differs from Bun's. */
  deno?: Outcome;
  /** The outcome under Bun, where it differs from Deno's. */
  bun?: Outcome;
}

/** The help of a command as it was, and the flags it must keep listing. */
export interface GoldenHelp {
  /** The arguments that print it. */
  args: string[];
  /** Every flag (`--name`, `-x`) it listed. */
  flags: string[];
  /** The text when it was recorded (help is derived from the flag tables, so it may change). */
  text: string;
}

/** The stored file. */
export interface GoldenFile {
  /** How the file was made. */
  note: string;
  /** The inputs written before the cases run. */
  inputs: GoldenEntry[];
  /** The runs. */
  cases: GoldenEntry[];
  /** The help texts. */
  help: Record<string, GoldenHelp>;
}

/** Splits a command line on spaces (for arguments without spaces). */
function words(line: string): string[] {
  return line.split(" ");
}

/** Inputs written with the CLI itself before the cases; their bytes are checked as cases too. */
export const INPUTS: GoldenCase[] = [
  {
    name: "generate writes the drift CSV and says what it wrote",
    args: words(
      "generate --seed 5 --batches 16 --batch-size 40 --features 6 --drift-batch 8 --output <tmp>/drift.csv",
    ),
    writes: ["drift.csv"],
  },
  {
    name: "generate writes the drift NDJSON and says what it wrote",
    args: words(
      "generate --seed 5 --batches 16 --batch-size 40 --features 6 --drift-batch 8 --format ndjson -o <tmp>/drift.ndjson",
    ),
    writes: ["drift.ndjson"],
  },
];

/** Hand-written inputs with every kind of bad row. */
export const LITERAL_INPUTS: Record<string, string> = {
  "bad.csv": [
    "a,b,c",
    "1,2,3",
    "2,1,4",
    "3,5,1",
    "4,x,2",
    "5,6",
    "6,,3",
    "7,3,8",
    "8,9,2",
    "9,4,7",
    "10,2,2",
    "11,8,1",
    "",
    "12,1,9",
    '"13",7,"5"',
    "",
  ].join("\n"),
  "bad.ndjson": [
    '{"a":1,"b":2,"c":3}',
    '{"a":2,"b":1,"c":5}',
    "[1,2,3]",
    '{"a":3,"b":',
    '{"a":4,"b":4,"c":1}',
    '{"a":5,"b":"x","c":2}',
    '{"a":6,"c":2}',
    '{"a":7,"b":3,"c":9}',
    '{"a":8,"b":6,"c":4}',
    "",
  ].join("\n"),
};

/** The runs, in order. */
export const CASES: GoldenCase[] = [
  { name: "generate writes the default drift data as CSV", args: words("generate") },
  {
    name: "generate follows its shape options and seed",
    args: words("generate --seed 7 --batches 12 -b 20 --features 5 --drift-batch 4 --strength 0.9"),
  },
  {
    name: "generate writes NDJSON",
    args: words("generate --format ndjson --seed 3 --batches 6 --batch-size 10 --features 3"),
  },
  {
    name: "generate with seed 0 and strength 0",
    args: words("generate --seed 0 --batches 3 --batch-size 4 --features 1 --strength 0"),
  },
  {
    name: "generate refuses a drift batch at or past the last batch",
    args: words("generate --batches 4 --drift-batch 4"),
  },
  { name: "generate refuses a positional argument", args: words("generate out.csv") },
  { name: "generate refuses a batch size below 3", args: words("generate --batch-size 2") },
  {
    name: "monitor writes NDJSON with the correlations of each view",
    args: words(
      "monitor <tmp>/drift.csv --confounds c --batch-size 40 --format ndjson --correlations",
    ),
  },
  {
    name: "monitor prints the table and the summary",
    args: words("monitor <tmp>/drift.csv -c c -b 40"),
  },
  {
    name: "monitor with a window and an alert prints the alerts and exits 3",
    args: words("monitor <tmp>/drift.csv -c c -b 40 --window 3 --alert 0.2"),
  },
  {
    name: "monitor with decay, alert on any view and no failure on alert, as NDJSON",
    args: words(
      "monitor <tmp>/drift.csv -c c -b 40 --decay 0.7 --alert 0.2 --alert-on any --no-fail-on-alert --format ndjson",
    ),
  },
  {
    name:
      "monitor with a fixed tol, signed correlations, max scalarisation, nu and chosen features",
    args: words(
      "monitor <tmp>/drift.csv -c c -b 40 --tol 0.1 --no-abs --scalarisation max --nu 2 --features f0,f1,f2",
    ),
  },
  {
    name: "monitor with tol-sig, vnorm, a window and correlations as NDJSON",
    args: words(
      "monitor <tmp>/drift.csv -c c -b 30 --tol-sig 0.05 --scalarisation vnorm -w 4 --format ndjson --correlations",
    ),
  },
  {
    name: "monitor prints every fourth batch of standard input and the alerted ones",
    args: words("monitor - -c c -b 40 --print-every 4 --window 2 --alert 0.3 --alert-on running"),
    stdinFile: "drift.csv",
  },
  {
    name: "monitor reads NDJSON input",
    args: words("monitor <tmp>/drift.ndjson -c c -b 40 --window 2 --format ndjson"),
  },
  {
    name: "monitor reads NDJSON from standard input with --input-format",
    args: words("monitor - --input-format ndjson -c c,f5 -b 50 --scalarisation meansq"),
    stdinFile: "drift.ndjson",
  },
  {
    name: "monitor derives the date confounds of the Seattle weather data",
    args: words(
      "monitor data/seattle-weather.csv --date-column date -c date.cos,date.sin -f temp_max,temp_min,precipitation,wind -b 30 --window 3",
    ),
  },
  {
    name: "monitor with the date column's day number as NDJSON with correlations",
    args: words(
      "monitor data/seattle-weather.csv --date-column date -c date.days -b 100 --format ndjson --correlations",
    ),
  },
  { name: "monitor --demo alerts and exits 3", args: words("monitor --demo") },
  {
    name: "monitor --demo writes the HTML report",
    args: words("monitor --demo --report <tmp>/report.html --no-fail-on-alert --top 3"),
    writes: ["report.html"],
  },
  {
    name: "monitor writes the report of a windowless run with bad rows",
    args: words("monitor <tmp>/bad.csv -c c -b 3 --on-bad-row skip -r <tmp>/bad.html"),
    writes: ["bad.html"],
  },
  {
    name: "monitor skips and names each bad CSV row",
    args: words("monitor <tmp>/bad.csv -c c -b 3 --on-bad-row skip"),
  },
  {
    name: "monitor stops at the first bad CSV row by default",
    args: words("monitor <tmp>/bad.csv -c c -b 3"),
  },
  {
    name: "monitor --on-bad-row error stops at the first bad row",
    args: words("monitor <tmp>/bad.csv -c c --on-bad-row error"),
  },
  {
    name: "monitor skips and names each bad NDJSON line",
    args: words("monitor <tmp>/bad.ndjson -c c -b 3 --on-bad-row skip --format ndjson"),
  },
  {
    name: "monitor runs the batch moments in ONNX Runtime's wasm provider and says so on stderr",
    args: words("monitor <tmp>/drift.csv -c c -b 80 --provider wasm --format ndjson --no-progress"),
  },
  {
    name: "monitor with --progress never prints no progress line",
    args: words("monitor <tmp>/drift.csv -c c -b 160 --progress never"),
  },
  {
    name: "monitor refuses an unknown --provider",
    args: words("monitor <tmp>/drift.csv -c c --provider tpu"),
  },
  { name: "monitor refuses a missing --confounds", args: words("monitor <tmp>/drift.csv") },
  { name: "monitor refuses a missing input", args: words("monitor -c c") },
  { name: "monitor refuses an input with --demo", args: words("monitor <tmp>/drift.csv --demo") },
  {
    name: "monitor refuses two inputs",
    args: words("monitor <tmp>/drift.csv <tmp>/drift.csv -c c"),
  },
  { name: "monitor refuses a zero window", args: words("monitor <tmp>/drift.csv -c c --window 0") },
  {
    name: "monitor refuses a window with a decay",
    args: words("monitor <tmp>/drift.csv -c c --window 2 --decay 0.5"),
  },
  {
    name: "monitor refuses an unknown --tol",
    args: words("monitor <tmp>/drift.csv -c c --tol big"),
  },
  {
    name: "monitor refuses an unknown --scalarisation",
    args: words("monitor <tmp>/drift.csv -c c --scalarisation median"),
  },
  {
    name: "monitor refuses an empty --confounds",
    args: ["monitor", "<tmp>/drift.csv", "-c", " , "],
  },
  {
    name: "monitor refuses a --decay above 1",
    args: words("monitor <tmp>/drift.csv -c c --decay 1.5"),
  },
  {
    name: "monitor refuses a column the input lacks",
    args: words("monitor <tmp>/drift.csv -c nope"),
  },
  {
    name: "monitor refuses F·M over --max-elements",
    args: words("monitor <tmp>/drift.csv -c c --max-elements 3"),
  },
  {
    name: "monitor refuses a header over --max-columns",
    args: words("monitor <tmp>/drift.csv -c c --max-columns 4"),
  },
  {
    name: "monitor refuses an unknown option",
    args: words("monitor <tmp>/drift.csv -c c --bogus"),
  },
  {
    name: "monitor refuses an option without its value",
    args: words("monitor <tmp>/drift.csv -c"),
  },
  { name: "the program refuses an unknown command", args: words("watch x.csv") },
  { name: "the program refuses an unknown help topic", args: words("help watch") },
  {
    name: "export-onnx writes the model file and a summary",
    args: words("export-onnx -f 3 -c 2 -o <tmp>/model.onnx"),
    writes: ["model.onnx"],
  },
  {
    name: "export-onnx writes the signed NaN-variance model to a pipe",
    args: words("export-onnx --features 4 --confounds 1 --no-abs --zero-variance nan"),
  },
  {
    name: "export-onnx: the last of --abs and --no-abs wins",
    args: words("export-onnx -f 2 -c 2 --no-abs --abs"),
  },
  { name: "export-onnx refuses a missing --confounds", args: words("export-onnx -f 3") },
  { name: "export-onnx refuses a zero --features", args: words("export-onnx -f 0 -c 1") },
];

/** The help texts: each must list every flag it listed when recorded. */
export const HELP_ARGS: Record<string, string[]> = {
  main: ["--help"],
  monitor: ["monitor", "--help"],
  generate: ["generate", "-h"],
  "export-onnx": ["help", "export-onnx"],
};

/** The runtime running this code. */
export function currentRuntime(): Runtime {
  return (globalThis as { Deno?: unknown }).Deno !== undefined ? "deno" : "bun";
}

/** The command that runs `cli.ts` under a runtime. */
function cliCommand(runtime: Runtime): [string, string[]] {
  if (runtime === "deno") {
    const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
    return [deno?.execPath() ?? join(ROOT, "node_modules", ".bin", "deno"), [
      "run",
      "-A",
      "cli.ts",
    ]];
  }
  const bun = (globalThis as { Bun?: unknown }).Bun;
  return [bun !== undefined ? process.execPath : join(ROOT, "node_modules", ".bin", "bun"), [
    "cli.ts",
  ]];
}

/** The raw result of a run. */
export interface RawRun {
  /** The exit code. */
  code: number | null;
  /** Standard output bytes. */
  stdout: Uint8Array;
  /** Standard error text. */
  stderr: string;
}

/**
 * Runs `cli.ts` with arguments under a runtime, from the repository root.
 *
 * @param runtime Deno or Bun.
 * @param args The arguments.
 * @param stdin Bytes for standard input.
 * @returns The exit code and the outputs.
 */
export function runCli(runtime: Runtime, args: string[], stdin?: Uint8Array): Promise<RawRun> {
  const [command, prefix] = cliCommand(runtime);
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
    child.stdin.on("error", () => {});
    child.stdin.end(stdin ?? new Uint8Array(0));
  });
}

/** Replaces the temporary directory with `<tmp>`. */
function normalise(text: string, tmp: string): string {
  return text.split(tmp).join("<tmp>");
}

function isText(bytes: Uint8Array): boolean {
  return !bytes.includes(0);
}

/** SHA-256, length and (for text) the first three lines of some bytes, with `<tmp>` normalised in text. */
function hashed(bytes: Uint8Array, tmp: string): HashedOutput {
  if (!isText(bytes)) {
    return { sha256: createHash("sha256").update(bytes).digest("hex"), bytes: bytes.byteLength };
  }
  const text = normalise(new TextDecoder().decode(bytes), tmp);
  const normalised = new TextEncoder().encode(text);
  return {
    sha256: createHash("sha256").update(normalised).digest("hex"),
    bytes: normalised.byteLength,
    head: text.split("\n").slice(0, 3).join("\n").slice(0, 400),
  };
}

/** The arguments of a case with `<tmp>` filled in. */
export function caseArgs(golden: GoldenCase, tmp: string): string[] {
  return golden.args.map((arg) => arg.split("<tmp>").join(tmp));
}

/**
 * Runs a case and reduces its result to the stored outcome.
 *
 * @param runtime Deno or Bun.
 * @param golden The case.
 * @param tmp The temporary directory holding its inputs.
 * @returns The outcome.
 */
export async function runCase(runtime: Runtime, golden: GoldenCase, tmp: string): Promise<Outcome> {
  const stdin = golden.stdinFile === undefined
    ? undefined
    : new Uint8Array(readFileSync(join(tmp, golden.stdinFile)));
  const run = await runCli(runtime, caseArgs(golden, tmp), stdin);
  const outcome: Outcome = {
    code: run.code,
    stdout: hashed(run.stdout, tmp),
    stderr: normalise(run.stderr, tmp),
  };
  if (golden.writes !== undefined) {
    outcome.files = Object.fromEntries(
      golden.writes.map((
        name,
      ) => [name, hashed(new Uint8Array(readFileSync(join(tmp, name))), tmp)]),
    );
  }
  return outcome;
}

/** Writes the hand-written inputs into the temporary directory. */
export function writeLiteralInputs(tmp: string): void {
  for (const [name, text] of Object.entries(LITERAL_INPUTS)) writeFileSync(join(tmp, name), text);
}

/** The flags a help text lists: every `--name` and `-x` token. */
export function listedFlags(text: string): string[] {
  const flags = new Set<string>();
  for (const match of text.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])(?![\w-])/g)) {
    flags.add(match[1]!);
  }
  return [...flags].sort();
}
