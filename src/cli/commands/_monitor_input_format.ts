/**
 * How `monitor` reads its input: CSV or NDJSON text, or the columnar formats
 * Arrow IPC and Parquet, from `--input-format` or the path's extension; and
 * the flags that have no meaning for a columnar input.
 *
 * @module
 */

import { ruleMessage } from "../../core/errors.ts";
import { UsageError } from "../errors.ts";
import { refuseFlags } from "./_scaleout_flags.ts";

/** The formats `monitor` reads. */
export type MonitorInputFormat = "csv" | "ndjson" | "arrow" | "parquet";

/** The columnar ones, read through `fromArrow` and `fromParquet`. */
export type ColumnarFormat = "arrow" | "parquet";

/**
 * The input's format: `--input-format` when given, else the extension's
 * (`.ndjson`/`.jsonl`, `.arrow`/`.arrows`/`.feather`/`.ipc`, `.parquet`/`.pq`), else CSV.
 *
 * @param inputFormat `--input-format`, if given.
 * @param path The input path ("-" for standard input).
 * @returns The format.
 */
export function monitorInputFormat(
  inputFormat: MonitorInputFormat | undefined,
  path: string,
): MonitorInputFormat {
  if (inputFormat !== undefined) return inputFormat;
  if (/\.(ndjson|jsonl)$/i.test(path)) return "ndjson";
  if (/\.(arrow|arrows|feather|ipc)$/i.test(path)) return "arrow";
  if (/\.(parquet|pq)$/i.test(path)) return "parquet";
  return "csv";
}

/** Whether a format is Arrow IPC or Parquet. */
export function isColumnar(format: MonitorInputFormat): format is ColumnarFormat {
  return format === "arrow" || format === "parquet";
}

/** Flags of `monitor` that only apply to CSV/NDJSON text, and why. */
const TEXT_ONLY: Readonly<Record<string, string>> = {
  "date-column":
    "Arrow and Parquet dates are typed columns and monitor reads numeric columns only; derive the phase columns before writing the file",
  "max-columns": "a limit of CSV/NDJSON text; Arrow and Parquet are read column by column",
  "max-line-bytes": "a limit of CSV/NDJSON text; Arrow and Parquet are read column by column",
};

/**
 * Refuses what a columnar input cannot do: the text-only flags, and Parquet
 * on standard input (its footer, at the end, must be read first).
 *
 * @param given The checked flag values, keyed in camel case.
 * @param input The input path, "-", or undefined (--demo, --redis, --nats).
 * @returns The input's format, or undefined without an input.
 * @throws {UsageError} Naming the flag or the input and why it does not apply.
 */
export function checkColumnarInput(
  given: Readonly<Record<string, unknown>>,
  input: string | undefined,
): MonitorInputFormat | undefined {
  if (input === undefined) return undefined;
  const format = monitorInputFormat(given.inputFormat as MonitorInputFormat | undefined, input);
  if (!isColumnar(format)) return format;
  const name = format === "arrow" ? "Arrow IPC" : "Parquet";
  refuseFlags(`monitor on ${name} input`, given, TEXT_ONLY);
  if (format === "parquet" && input === "-") {
    throw new UsageError(
      ruleMessage(
        "run monitor on Parquet input",
        "the input",
        "a file path (Parquet is read from its footer, at the end of the file, so not from standard input; Arrow IPC streams can be piped)",
        input,
      ),
    );
  }
  return format;
}
