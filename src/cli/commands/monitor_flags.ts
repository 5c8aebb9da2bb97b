/**
 * The flags of `monitor`, each declared once: spelling, rule, default and help.
 *
 * @module
 */

import { z } from "zod";
import { MIN_SIGNIFICANCE } from "../../core/auto_tol.ts";
import { DEFAULT_MAX_ELEMENTS } from "../../core/limits.ts";
import type { OnnxProvider } from "../../onnx/onnx_backend.ts";
import { booleanFlag, choiceFlag, HELP_FLAG, valueFlag } from "../args/flag.ts";
import {
  columnList,
  finiteNumber,
  numberWhere,
  positiveInteger,
  text,
} from "../args/flag_schemas.ts";
import { DEFAULT_INPUT_LIMITS } from "../input/input_limits.ts";
import { MONITOR_SCALE_OUT_FLAGS } from "./_scaleout_flags.ts";

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

const INPUT = "Input";
const CORRELATION = "Correlation (as BatchCorrelationLoss)";
const OUTPUT = "Alerts and output";
const SERVICE = "Service (Prometheus metrics, health and the live page; see docs/alerts.md)";
const LIMITS = "Limits (an input over one stops with exit 2, naming the line and the flag)";

const PROVIDERS = [
  "auto",
  "wasm",
  "webgpu",
  "webgpu-native",
  "cpu",
  "cuda",
] as const satisfies readonly OnnxProvider[];

/** tolSig's rule: the library's, and not subnormal (autoTol refuses a subnormal tail). */
const TOL_SIG_RULE = "a number in the open interval (0, 1), at least 2^-1022 (not subnormal)";

const tolerance = z.union([
  z.literal("auto"),
  numberWhere("a finite non-negative number", (v) => Number.isFinite(v) && v >= 0),
], { error: 'a finite non-negative number or "auto"' });

/** `--input-format` of the commands that read CSV or NDJSON text only (`publish`). */
export const TEXT_INPUT_FORMAT_FLAG = choiceFlag(["csv", "ndjson"], {
  section: INPUT,
  defaultText: "from the file extension, ndjson for .ndjson and .jsonl, else csv",
  help: "how the input is read",
});

/** The flags of `monitor`, in help order. */
export const MONITOR_FLAGS = {
  help: HELP_FLAG,
  confounds: valueFlag(columnList(), {
    section: INPUT,
    short: "c",
    placeholder: "a,b",
    help: "confound columns (required unless --demo)",
  }),
  features: valueFlag(columnList(), {
    section: INPUT,
    short: "f",
    placeholder: "x,y",
    defaultText: "every other numeric column",
    help: "feature columns",
  }),
  "date-column": valueFlag(text(), {
    section: INPUT,
    placeholder: "name",
    help:
      "derive <name>.cos, <name>.sin (annual phase) and <name>.days (days since 1970) from a date column",
  }),
  "input-format": choiceFlag(["csv", "ndjson", "arrow", "parquet"], {
    section: INPUT,
    defaultText: "from the file extension: ndjson for .ndjson and .jsonl, arrow for .arrow, " +
      ".arrows, .feather and .ipc, parquet for .parquet and .pq, else csv",
    help: "how the input is read: CSV or NDJSON text, an Arrow IPC file or stream (a file, a " +
      "pipe or -), or a Parquet file (not -); Arrow and Parquet need the optional package " +
      "apache-arrow or hyparquet",
  }),
  "on-bad-row": choiceFlag(["skip", "error"], {
    section: INPUT,
    default: "error",
    help:
      "a row with a non-numeric or missing cell, or the wrong number of fields: error stops with " +
      "exit 2; skip drops it; both count and report it with its line",
  }),
  demo: booleanFlag({
    section: INPUT,
    help: `the bundled data/seattle-weather.csv: features ${DEMO_SETTINGS.features.join(", ")}; ` +
      `confound ${DEMO_SETTINGS.confounds.join(", ")}; --batch-size ${DEMO_SETTINGS.batchSize} ` +
      `--window ${DEMO_SETTINGS.window} --alert ${DEMO_SETTINGS.alert} (each overridable)`,
  }),
  "batch-size": valueFlag(positiveInteger(), {
    section: CORRELATION,
    short: "b",
    placeholder: "n",
    default: 100,
    help: "rows per batch",
  }),
  tol: valueFlag(tolerance, {
    section: CORRELATION,
    placeholder: "x|auto",
    default: "auto",
    help: "soft threshold; auto derives it from each view's sample count",
  }),
  "tol-sig": valueFlag(numberWhere(TOL_SIG_RULE, (v) => v >= MIN_SIGNIFICANCE && v < 1), {
    section: CORRELATION,
    placeholder: "p",
    default: 0.1,
    help: "significance for tol auto",
  }),
  abs: booleanFlag({
    section: CORRELATION,
    negatable: true,
    default: true,
    help: "threshold |r|, or keep the sign",
  }),
  scalarisation: choiceFlag(["sum", "mean", "meansq", "max", "vnorm"], {
    section: CORRELATION,
    default: "mean",
    help: "how the thresholded correlations become one loss",
  }),
  nu: valueFlag(finiteNumber(), {
    section: CORRELATION,
    placeholder: "x",
    default: 1,
    help: "loss multiplier",
  }),
  window: valueFlag(positiveInteger("a number of batches"), {
    section: CORRELATION,
    short: "w",
    placeholder: "n",
    help: "also track the last n batches",
  }),
  decay: valueFlag(numberWhere("a number in (0, 1]", (v) => v > 0 && v <= 1), {
    section: CORRELATION,
    placeholder: "l",
    help: "or exponential forgetting, l in (0, 1]",
  }),
  provider: choiceFlag(PROVIDERS, {
    section: CORRELATION,
    defaultText: "none, the TypeScript kernel in float64",
    help: "run each batch's moments in ONNX Runtime (float32): cpu, cuda, webgpu-native " +
      "(onnxruntime-node), wasm, webgpu (onnxruntime-web), or auto (the first that works of cuda, " +
      "webgpu-native, webgpu, cpu, wasm; the choice is printed on stderr). An unavailable provider " +
      "or a missing package exits 2 with the reason",
  }),
  alert: valueFlag(finiteNumber("a loss level"), {
    section: OUTPUT,
    placeholder: "level",
    help: "flag batches whose loss is >= level",
  }),
  "alert-on": choiceFlag(["window", "running", "any"], {
    section: OUTPUT,
    defaultText: "window when --window/--decay is given, else running",
    help: "which loss is compared with --alert",
  }),
  "fail-on-alert": booleanFlag({
    section: OUTPUT,
    negatable: true,
    default: true,
    help: "exit 3 when an alert fired, or 0",
  }),
  format: choiceFlag(["table", "ndjson", "arrow"], {
    section: OUTPUT,
    default: "table",
    help: "a table, one JSON object per batch on stdout, or an Arrow IPC stream of one row per " +
      "batch (binary: to --output or a pipe; needs apache-arrow)",
  }),
  output: valueFlag(text(), {
    section: OUTPUT,
    short: "o",
    placeholder: "file",
    defaultText: "standard output",
    help: "with --format arrow, write the IPC stream to this file",
  }),
  correlations: booleanFlag({
    section: OUTPUT,
    help: "with ndjson, include the (F, M) correlations of each view",
  }),
  "print-every": valueFlag(positiveInteger(), {
    section: OUTPUT,
    placeholder: "n",
    default: 1,
    help: "table: print every n-th batch (alerts always printed)",
  }),
  report: valueFlag(text(), {
    section: OUTPUT,
    short: "r",
    placeholder: "file.html",
    help: "write a self-contained HTML report (SVG plot, top features)",
  }),
  top: valueFlag(positiveInteger(), {
    section: OUTPUT,
    placeholder: "k",
    default: 5,
    help: "features per confound in the report table",
  }),
  progress: choiceFlag(["auto", "always", "never"], {
    section: OUTPUT,
    default: "auto",
    negation: { text: "never", help: "same as --progress never" },
    help: "progress bar on stderr (auto: when stderr is a TTY)",
  }),
  metrics: valueFlag(text(), {
    section: SERVICE,
    placeholder: "HOST:PORT",
    defaultText: "off",
    help: "serve /metrics (Prometheus text format), /healthz and the live page / on HOST:PORT " +
      "(HOST 127.0.0.1 when only :PORT or PORT is given; port 0 picks a free one), for any " +
      "input: a file, stdin, or a group's committed view with --redis/--nats; the URL is " +
      "printed on stderr. A port in use or a host that is not an address exits 2",
  }),
  "serve-after": valueFlag(
    numberWhere("a non-negative number of seconds", (v) => Number.isFinite(v) && v >= 0),
    {
      section: SERVICE,
      placeholder: "seconds",
      default: 0,
      help: "with --metrics, keep serving this long after the input ends or fails, then exit " +
        "with the usual code (SIGINT/SIGTERM ends the wait)",
    },
  ),
  "max-columns": valueFlag(positiveInteger("fields per record"), {
    section: LIMITS,
    placeholder: "n",
    default: DEFAULT_INPUT_LIMITS.maxColumns,
    help: "fields per CSV record, keys per NDJSON object",
  }),
  "max-line-bytes": valueFlag(positiveInteger("bytes per record"), {
    section: LIMITS,
    placeholder: "n",
    default: DEFAULT_INPUT_LIMITS.maxLineBytes,
    defaultText: `${DEFAULT_INPUT_LIMITS.maxLineBytes} = ${
      DEFAULT_INPUT_LIMITS.maxLineBytes / 2 ** 20
    } MiB`,
    help: "bytes per CSV record (a quoted field spanning lines counts whole) or NDJSON line",
  }),
  "max-elements": valueFlag(positiveInteger("the largest F·M"), {
    section: LIMITS,
    placeholder: "n",
    default: DEFAULT_MAX_ELEMENTS,
    help: "features x confounds, the size of the correlation state, checked before any data row",
  }),
  ...MONITOR_SCALE_OUT_FLAGS,
};
