/**
 * Command-line parsing: `node:util`'s `parseArgs` (Deno and Bun both provide
 * it) for the syntax, zod for the values, and the help text of each command.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { z } from "zod";
import { ruleMessage } from "../errors.ts";
import type { OnnxProvider } from "../onnx/backend.ts";
import { DEFAULT_MAX_ELEMENTS } from "../limits.ts";
import { DEFAULT_INPUT_LIMITS } from "./input/input_limits.ts";
import { UsageError } from "./errors.ts";

/** The commands of the CLI. */
export type CommandName = "monitor" | "generate" | "export-onnx";

type OptionSpec = { type: "string" | "boolean"; short?: string };

/** Options of `monitor`, validated. */
export interface MonitorArgs {
  /** The command. */
  command: "monitor";
  /** Whether --help was given. */
  help: boolean;
  /** A path, or "-" for standard input; undefined with --demo. */
  input: string | undefined;
  /** Whether --demo was given. */
  demo: boolean;
  /** --input-format (undefined: from the extension). */
  inputFormat: "csv" | "ndjson" | undefined;
  /** --confounds. */
  confounds: string[];
  /** --features (undefined: every other numeric column). */
  features: string[] | undefined;
  /** --date-column. */
  dateColumn: string | undefined;
  /** --batch-size. */
  batchSize: number;
  /** --tol. */
  tol: number | "auto";
  /** --tol-sig. */
  tolSig: number;
  /** --abs / --no-abs. */
  abs: boolean;
  /** --nu. */
  nu: number;
  /** --scalarisation. */
  scalarisation: "sum" | "mean" | "meansq" | "max" | "vnorm";
  /** --window (batches). */
  window: number | undefined;
  /** --decay. */
  decay: number | undefined;
  /** --alert (a loss level). */
  alert: number | undefined;
  /** Which view's loss is compared with the alert level. */
  alertOn: "window" | "running" | "any";
  /** Exit 3 when an alert fired (--no-fail-on-alert clears it). */
  failOnAlert: boolean;
  /** --provider: run the per-batch kernel in ONNX Runtime (undefined: the TypeScript kernel). */
  provider: OnnxProvider | undefined;
  /** --format. */
  format: "table" | "ndjson";
  /** --correlations. */
  correlations: boolean;
  /** --report (an HTML path). */
  report: string | undefined;
  /** --top. */
  top: number;
  /** --on-bad-row. */
  onBadRow: "skip" | "error";
  /** --progress. */
  progress: "auto" | "always" | "never";
  /** --print-every. */
  printEvery: number;
  /** --max-columns: the most fields of a CSV record or keys of an NDJSON object. */
  maxColumns: number;
  /** --max-line-bytes: the most bytes of a CSV record or an NDJSON line. */
  maxLineBytes: number;
  /** --max-elements: the largest F·M (features × confounds) the monitor will allocate for. */
  maxElements: number;
}

/** Options of `generate`, validated. */
export interface GenerateArgs {
  /** The command. */
  command: "generate";
  /** Whether --help was given. */
  help: boolean;
  /** --output (undefined: standard output). */
  output: string | undefined;
  /** --format. */
  format: "csv" | "ndjson";
  /** --batches. */
  batches: number;
  /** --batch-size. */
  batchSize: number;
  /** --features (a count). */
  features: number;
  /** --drift-batch. */
  driftBatch: number;
  /** --strength. */
  strength: number;
  /** --seed. */
  seed: number;
}

/** Options of `export-onnx`, validated. */
export interface ExportOnnxArgs {
  /** The command. */
  command: "export-onnx";
  /** Whether --help was given. */
  help: boolean;
  /** --output (undefined or "-": standard output). */
  output: string | undefined;
  /** --features: F, the number of feature columns fixed in the model. */
  features: number;
  /** --confounds: M, the number of confounds fixed in the model. */
  confounds: number;
  /** --abs / --no-abs. */
  abs: boolean;
  /** --zero-variance. */
  zeroVariance: "zero" | "nan";
}

/** A parsed command line. */
export type ParsedArgs = MonitorArgs | GenerateArgs | ExportOnnxArgs | { command: "help"; topic: CommandName | undefined };

const MONITOR_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h" },
  demo: { type: "boolean" },
  "input-format": { type: "string" },
  confounds: { type: "string", short: "c" },
  features: { type: "string", short: "f" },
  "date-column": { type: "string" },
  "batch-size": { type: "string", short: "b" },
  tol: { type: "string" },
  "tol-sig": { type: "string" },
  abs: { type: "boolean" },
  "no-abs": { type: "boolean" },
  nu: { type: "string" },
  scalarisation: { type: "string" },
  window: { type: "string", short: "w" },
  decay: { type: "string" },
  alert: { type: "string" },
  "alert-on": { type: "string" },
  "fail-on-alert": { type: "boolean" },
  "no-fail-on-alert": { type: "boolean" },
  provider: { type: "string" },
  format: { type: "string" },
  correlations: { type: "boolean" },
  report: { type: "string", short: "r" },
  top: { type: "string" },
  "on-bad-row": { type: "string" },
  progress: { type: "string" },
  "no-progress": { type: "boolean" },
  "print-every": { type: "string" },
  "max-columns": { type: "string" },
  "max-line-bytes": { type: "string" },
  "max-elements": { type: "string" },
};

const GENERATE_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h" },
  output: { type: "string", short: "o" },
  format: { type: "string" },
  batches: { type: "string" },
  "batch-size": { type: "string", short: "b" },
  features: { type: "string" },
  "drift-batch": { type: "string" },
  strength: { type: "string" },
  seed: { type: "string" },
};

const EXPORT_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h" },
  output: { type: "string", short: "o" },
  features: { type: "string", short: "f" },
  confounds: { type: "string", short: "c" },
  abs: { type: "boolean" },
  "no-abs": { type: "boolean" },
  "zero-variance": { type: "string" },
};

/** The settings `--demo` applies unless given explicitly. */
export const DEMO_SETTINGS: Readonly<{
  dateColumn: string;
  confounds: string[];
  features: string[];
  batchSize: number;
  window: number;
  tol: "auto";
  alert: number;
}> = Object.freeze({
  dateColumn: "date",
  confounds: ["date.cos"],
  features: ["temp_max", "temp_min", "precipitation", "wind"],
  batchSize: 30,
  window: 3,
  tol: "auto" as const,
  alert: 0.3,
});

function number(rule: string, check: (value: number) => boolean) {
  return z.string().transform((text, context) => {
    const value = text.trim() === "" ? Number.NaN : Number(text);
    if (!check(value)) {
      context.addIssue({ code: "custom", message: rule });
      return z.NEVER;
    }
    return value;
  });
}

const positiveInteger = number("a positive integer", (v) => Number.isInteger(v) && v > 0);
const nonNegativeInteger = number("a non-negative integer", (v) => Number.isInteger(v) && v >= 0);
const finite = number("a finite number", Number.isFinite);
const list = z.string().transform((text) => text.split(",").map((name) => name.trim()).filter((name) => name.length > 0));

const MONITOR_SCHEMAS: Record<string, [z.ZodType, string]> = {
  "input-format": [z.enum(["csv", "ndjson"]), '"csv" or "ndjson"'],
  confounds: [list.pipe(z.array(z.string()).min(1)), "a comma-separated list of column names"],
  features: [list.pipe(z.array(z.string()).min(1)), "a comma-separated list of column names"],
  "batch-size": [positiveInteger, "a positive integer"],
  tol: [
    z.union([z.literal("auto"), number("x", (v) => Number.isFinite(v) && v >= 0)]),
    'a finite non-negative number or "auto"',
  ],
  "tol-sig": [number("x", (v) => v > 0 && v < 1), "a number in the open interval (0, 1)"],
  nu: [finite, "a finite number"],
  scalarisation: [z.enum(["sum", "mean", "meansq", "max", "vnorm"]), '"sum", "mean", "meansq", "max" or "vnorm"'],
  window: [positiveInteger, "a positive integer (a number of batches)"],
  decay: [number("x", (v) => v > 0 && v <= 1), "a number in (0, 1]"],
  alert: [finite, "a finite number (a loss level)"],
  "alert-on": [z.enum(["window", "running", "any"]), '"window", "running" or "any"'],
  format: [z.enum(["table", "ndjson"]), '"table" or "ndjson"'],
  top: [positiveInteger, "a positive integer"],
  "on-bad-row": [z.enum(["skip", "error"]), '"skip" or "error"'],
  progress: [z.enum(["auto", "always", "never"]), '"auto", "always" or "never"'],
  "print-every": [positiveInteger, "a positive integer"],
  "max-columns": [positiveInteger, "a positive integer (fields per record)"],
  "max-line-bytes": [positiveInteger, "a positive integer (bytes per record)"],
  "max-elements": [positiveInteger, "a positive integer (the largest F·M)"],
  provider: [z.enum(["auto", "wasm", "webgpu", "cpu", "cuda"]), '"auto", "wasm", "webgpu", "cpu" or "cuda"'],
};

const GENERATE_SCHEMAS: Record<string, [z.ZodType, string]> = {
  format: [z.enum(["csv", "ndjson"]), '"csv" or "ndjson"'],
  batches: [positiveInteger, "a positive integer"],
  "batch-size": [number("x", (v) => Number.isInteger(v) && v >= 3), "an integer of at least 3"],
  features: [positiveInteger, "a positive integer"],
  "drift-batch": [nonNegativeInteger, "a non-negative integer"],
  strength: [number("x", (v) => v >= 0 && v <= 1), "a number in [0, 1] (the correlation injected)"],
  seed: [nonNegativeInteger, "a non-negative integer"],
};

const EXPORT_SCHEMAS: Record<string, [z.ZodType, string]> = {
  features: [positiveInteger, "a positive integer (the number of feature columns)"],
  confounds: [positiveInteger, "a positive integer (the number of confounds)"],
  "zero-variance": [z.enum(["zero", "nan"]), '"zero" or "nan"'],
};

function validate<T>(command: string, flag: string, schemas: Record<string, [z.ZodType, string]>, raw: unknown): T {
  const [schema, rule] = schemas[flag]!;
  const result = schema.safeParse(raw);
  if (!result.success) throw new UsageError(ruleMessage(`run ${command}`, `--${flag}`, rule, raw));
  return result.data as T;
}

function parse(command: string, args: string[], options: Record<string, OptionSpec>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(`Cannot run ${command} as its arguments must be known options with values where needed: ${(error as Error).message}`);
  }
}

/** Whichever of `--name` / `--no-name` came last wins. */
function lastFlag(tokens: readonly { kind: string; name?: string }[], name: string, fallback: boolean): boolean {
  let value = fallback;
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    if (token.name === name) value = true;
    if (token.name === `no-${name}`) value = false;
  }
  return value;
}

function parseMonitor(args: string[]): MonitorArgs {
  const { values, positionals, tokens } = parse("monitor", args, MONITOR_OPTIONS);
  const v = values as Record<string, string | boolean | undefined>;
  const get = <T>(flag: string): T | undefined =>
    v[flag] === undefined ? undefined : validate<T>("monitor", flag, MONITOR_SCHEMAS, v[flag]);
  const help = v.help === true;
  const demo = v.demo === true;
  if (positionals.length > 1) {
    throw new UsageError(ruleMessage("run monitor", "the input", "one file path or - for standard input", positionals.join(" ")));
  }
  const input = positionals[0];
  if (!help && !demo && input === undefined) {
    throw new UsageError("Cannot run monitor as an input must be given (a file path, or - for standard input, or --demo): current value is none");
  }
  if (demo && input !== undefined) {
    throw new UsageError(ruleMessage("run monitor", "the input with --demo", "omitted (the demo reads the bundled data set)", input));
  }
  const demoDefault = <T>(value: T | undefined, fallback: T): T => (value !== undefined ? value : fallback);
  const confounds = get<string[]>("confounds") ?? (demo ? [...DEMO_SETTINGS.confounds] : undefined);
  if (!help && confounds === undefined) {
    throw new UsageError("Cannot run monitor as --confounds must name the confound columns (comma-separated): current value is none");
  }
  const window = get<number>("window");
  const decay = get<number>("decay");
  if (window !== undefined && decay !== undefined) {
    throw new UsageError(`Cannot run monitor as --window and --decay must not both be given: current values are ${window} and ${decay}`);
  }
  const progress = v["no-progress"] === true ? "never" : get<MonitorArgs["progress"]>("progress") ?? "auto";
  return {
    command: "monitor",
    help,
    input,
    demo,
    inputFormat: get("input-format"),
    confounds: confounds ?? [],
    features: get<string[]>("features") ?? (demo ? [...DEMO_SETTINGS.features] : undefined),
    dateColumn: (v["date-column"] as string | undefined) ?? (demo ? DEMO_SETTINGS.dateColumn : undefined),
    batchSize: demoDefault(get<number>("batch-size"), demo ? DEMO_SETTINGS.batchSize : 100),
    tol: get<number | "auto">("tol") ?? "auto",
    tolSig: get<number>("tol-sig") ?? 0.1,
    abs: lastFlag(tokens, "abs", true),
    nu: get<number>("nu") ?? 1,
    scalarisation: get("scalarisation") ?? "mean",
    window: window ?? (demo && decay === undefined ? DEMO_SETTINGS.window : undefined),
    decay,
    alert: get<number>("alert") ?? (demo ? DEMO_SETTINGS.alert : undefined),
    alertOn: get<MonitorArgs["alertOn"]>("alert-on") ??
      ((window ?? decay ?? (demo ? DEMO_SETTINGS.window : undefined)) !== undefined ? "window" : "running"),
    failOnAlert: lastFlag(tokens, "fail-on-alert", true),
    provider: get<OnnxProvider>("provider"),
    format: get("format") ?? "table",
    correlations: v.correlations === true,
    report: v.report as string | undefined,
    top: get<number>("top") ?? 5,
    onBadRow: get("on-bad-row") ?? "error",
    progress,
    printEvery: get<number>("print-every") ?? 1,
    maxColumns: get<number>("max-columns") ?? DEFAULT_INPUT_LIMITS.maxColumns,
    maxLineBytes: get<number>("max-line-bytes") ?? DEFAULT_INPUT_LIMITS.maxLineBytes,
    maxElements: get<number>("max-elements") ?? DEFAULT_MAX_ELEMENTS,
  };
}

function parseGenerate(args: string[]): GenerateArgs {
  const { values, positionals } = parse("generate", args, GENERATE_OPTIONS);
  if (positionals.length > 0) {
    throw new UsageError(ruleMessage("run generate", "its arguments", "options only (write to a file with --output)", positionals.join(" ")));
  }
  const v = values as Record<string, string | boolean | undefined>;
  const get = <T>(flag: string): T | undefined =>
    v[flag] === undefined ? undefined : validate<T>("generate", flag, GENERATE_SCHEMAS, v[flag]);
  const batches = get<number>("batches") ?? 40;
  const driftBatch = get<number>("drift-batch") ?? Math.floor(batches / 2);
  if (driftBatch >= batches) {
    throw new UsageError(ruleMessage("run generate", "--drift-batch", `below --batches (${batches})`, driftBatch));
  }
  return {
    command: "generate",
    help: v.help === true,
    output: v.output as string | undefined,
    format: get("format") ?? "csv",
    batches,
    batchSize: get<number>("batch-size") ?? 50,
    features: get<number>("features") ?? 8,
    driftBatch,
    strength: get<number>("strength") ?? 0.8,
    seed: get<number>("seed") ?? 1,
  };
}

function parseExportOnnx(args: string[]): ExportOnnxArgs {
  const { values, positionals, tokens } = parse("export-onnx", args, EXPORT_OPTIONS);
  if (positionals.length > 0) {
    throw new UsageError(ruleMessage("run export-onnx", "its arguments", "options only (name the file with --output)", positionals.join(" ")));
  }
  const v = values as Record<string, string | boolean | undefined>;
  const get = <T>(flag: string): T | undefined =>
    v[flag] === undefined ? undefined : validate<T>("export-onnx", flag, EXPORT_SCHEMAS, v[flag]);
  const help = v.help === true;
  const features = get<number>("features");
  const confounds = get<number>("confounds");
  if (!help && (features === undefined || confounds === undefined)) {
    const missing = [features === undefined ? "--features" : "", confounds === undefined ? "--confounds" : ""].filter(Boolean).join(" and ");
    throw new UsageError(`Cannot run export-onnx as --features and --confounds must give F and M (the model's fixed shape): current value of ${missing} is none`);
  }
  return {
    command: "export-onnx",
    help,
    output: v.output as string | undefined,
    features: features ?? 1,
    confounds: confounds ?? 1,
    abs: lastFlag(tokens, "abs", true),
    zeroVariance: get("zero-variance") ?? "zero",
  };
}

/**
 * Parses a command line (without the runtime and script) into a validated
 * command.
 *
 * @param argv The arguments, e.g. `["monitor", "data.csv", "--confounds", "age"]`.
 * @returns The command and its options with defaults applied.
 * @throws {UsageError} For an unknown command or option, a missing value, or an invalid value.
 *
 * @example Parsing a monitor command
 * ```ts
 * import { parseCommandLine } from "./args.ts";
 * import assert from "node:assert/strict";
 *
 * const parsed = parseCommandLine(["monitor", "data.csv", "--confounds", "age", "--window", "5"]);
 * assert.equal(parsed.command, "monitor");
 * ```
 */
export function parseCommandLine(argv: readonly string[]): ParsedArgs {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case "help":
    case "--help":
    case "-h": {
      const topic = rest[0];
      if (topic === undefined || isCommand(topic)) return { command: "help", topic };
      throw new UsageError(ruleMessage("show help", "the topic", "monitor, generate or export-onnx", topic));
    }
    case "monitor":
      return parseMonitor(rest);
    case "generate":
      return parseGenerate(rest);
    case "export-onnx":
      return parseExportOnnx(rest);
    default:
      throw new UsageError(ruleMessage("run batch-corr", "the command", "monitor, generate or export-onnx (see --help)", command));
  }
}

function isCommand(value: string): value is CommandName {
  return value === "monitor" || value === "generate" || value === "export-onnx";
}

/** Help text of each command, and of the program. */
export const HELP: Record<CommandName | "main", string> = {
  main: `batch-corr: watch confound correlation drift in streamed tabular data

Usage:
  batch-corr monitor <file|-> --confounds a,b [options]   stream a CSV/NDJSON file, report per batch
  batch-corr monitor --demo [options]                     the bundled Seattle weather data set
  batch-corr generate [options]                           synthetic data with a known injected drift
  batch-corr export-onnx -f F -c M [options]              the correlation graph as .onnx (F features, M confounds)
  batch-corr <command> --help                             help for a command

Exit codes: 0 clean, 3 an alert fired, 2 bad usage or bad input, 1 internal error.
`,
  monitor: `batch-corr monitor <file|-> --confounds a,b [options]

Streams a CSV (header row) or NDJSON file, or standard input (-), in mini-batches
and prints, for every batch, the batch loss, the running loss over everything so
far and, with --window/--decay, the recent loss. The file is never loaded whole.

Input
  --confounds, -c a,b      confound columns (required unless --demo)
  --features, -f x,y       feature columns (default: every other numeric column)
  --date-column name       derive <name>.cos, <name>.sin (annual phase) and
                           <name>.days (days since 1970) from a date column
  --input-format csv|ndjson  default: from the file extension (.ndjson/.jsonl), else csv
  --on-bad-row error|skip  a row with a non-numeric or missing cell, or the wrong
                           number of fields: error stops with exit 2 (default);
                           skip drops it; both count and report it with its line
  --demo                   bundled data/seattle-weather.csv: features temp_max,
                           temp_min, precipitation, wind; confound date.cos;
                           --batch-size 30 --window 3 --alert 0.3 (each overridable)

Correlation (as BatchCorrelationLoss)
  --batch-size, -b n       rows per batch (default 100)
  --tol x|auto             soft threshold (default auto: from each view's sample count)
  --tol-sig p              significance for tol auto (default 0.1)
  --abs / --no-abs         threshold |r| (default) or keep the sign
  --scalarisation s        sum, mean (default), meansq, max, vnorm
  --nu x                   loss multiplier (default 1)
  --window, -w n           also track the last n batches
  --decay l                or exponential forgetting, l in (0, 1]
  --provider name          run each batch's moments in ONNX Runtime (float32):
                           cpu, cuda (onnxruntime-node), wasm, webgpu
                           (onnxruntime-web), or auto (the first that works of
                           cuda, webgpu, cpu, wasm; the choice is printed on
                           stderr). Default: the TypeScript kernel (float64).
                           An unavailable provider exits 2 with the reason

Alerts and output
  --alert level            flag batches whose loss is >= level
  --alert-on window|running|any  which loss is compared (default: window when
                           --window/--decay is given, else running)
  --no-fail-on-alert       exit 0 even when an alert fired (default: exit 3)
  --format table|ndjson    table (default) or one JSON object per batch on stdout
  --correlations           with ndjson, include the (F, M) correlations of each view
  --print-every n          table: print every n-th batch (alerts always printed)
  --report, -r file.html   write a self-contained HTML report (SVG plot, top features)
  --top k                  features per confound in the report table (default 5)
  --progress auto|always|never  progress bar on stderr (auto: when stderr is a TTY)
  --no-progress            same as --progress never

Limits (an input over one stops with exit 2, naming the line and the flag)
  --max-columns n          fields per CSV record, keys per NDJSON object
                           (default 100000)
  --max-line-bytes n       bytes per CSV record (a quoted field spanning lines
                           counts whole) or NDJSON line (default 16777216 = 16 MiB)
  --max-elements n         features x confounds, the size of the correlation
                           state, checked before any data row (default 134217728)

Exit codes: 0 clean, 3 an alert fired, 2 bad usage or bad input, 1 internal error.
`,
  generate: `batch-corr generate [options]

Writes synthetic rows with a known drift: features f0..f(k-1) are independent of
the confound "c" until --drift-batch, after which half of them correlate with it
at about --strength. Rows are written in order, so batch i of
'monitor --batch-size <same>' holds exactly the rows of generated batch i.

  --output, -o file        default: standard output
  --format csv|ndjson      default csv
  --batches n              default 40
  --batch-size, -b n       default 50 (at least 3)
  --features k             default 8
  --drift-batch i          first drifted batch (default batches / 2)
  --strength r             correlation injected, in [0, 1] (default 0.8)
  --seed s                 default 1

Exit codes: 0 written, 2 bad usage, 1 internal error.
`,
  "export-onnx": `batch-corr export-onnx --features F --confounds M [options]

Writes the one-batch correlation graph (exportBatchCorrOnnx) as an ONNX model:
inputs x float32 (batch, F), n float32 (M, batch) and tol, a float32 scalar fed
on every run (so the tolerance is not an export option); outputs raw and
thresholded (F, M), mean_x, mean_n, m2_x, m2_n, comoment. A summary goes to stderr.

  --features, -f F         number of feature columns (required)
  --confounds, -c M        number of confounds (required)
  --abs / --no-abs         thresholded output drops the sign (default) or keeps it
  --zero-variance zero|nan a correlation with a constant column is 0 (default) or NaN
  --output, -o file.onnx   default (or -): standard output, refused on a terminal

Exit codes: 0 written, 2 bad usage, 1 internal error.
`,
};
