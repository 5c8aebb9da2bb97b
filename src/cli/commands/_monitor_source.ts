/**
 * The input of a monitor run: the file, pipe, standard input or bundled demo
 * data, read as CSV or NDJSON records, each data record counted as read.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import type { CliIo } from "../cli_io.ts";
import { parseCsv } from "../input/csv.ts";
import { parseNdjson } from "../input/ndjson.ts";
import type { TableRecords } from "../input/numeric_table.ts";
import { type OpenedInput, openInput } from "../input/open_input.ts";
import { InputError } from "../errors.ts";
import { quoteInput } from "../output/safe_text.ts";
import type { RowCounts } from "../row_counts.ts";
import { isColumnar, monitorInputFormat } from "./_monitor_input_format.ts";
import type { MonitorArgs } from "./monitor_args.ts";

/** The bundled real data set used by `--demo`. */
export const DEMO_DATA_PATH: string = fileURLToPath(
  new URL("../../../data/seattle-weather.csv", import.meta.url),
);

/** An opened monitor input. */
export interface MonitorSource {
  /** The byte stream, with its size and how much was read. */
  input: OpenedInput;
  /** How the input is named in messages. */
  label: string;
  /** The parsed records. */
  records: TableRecords;
}

/** --input-format, or the format the path's extension names; Arrow and Parquet are not read here. */
function inputFormat(
  args: Pick<MonitorArgs, "inputFormat">,
  path: string,
  label: string,
): "csv" | "ndjson" {
  const format = monitorInputFormat(args.inputFormat, path);
  if (!isColumnar(format)) return format;
  throw new InputError(
    `Cannot read ${label} as this command's input must be CSV or NDJSON text (monitor reads Arrow IPC and Parquet): current value is ${
      format === "arrow" ? "Arrow IPC" : "Parquet"
    } (${args.inputFormat === undefined ? "by its extension" : "--input-format"})`,
  );
}

/** Counts the records passing through, for the rows-read figure. */
async function* counting<T>(records: AsyncIterable<T>, count: () => void): AsyncGenerator<T> {
  for await (const record of records) {
    count();
    yield record;
  }
}

/**
 * Opens the input of a monitor run; `counts.read` counts its data records
 * (the CSV header excluded) as they are parsed.
 *
 * @param args The monitor options (input, --demo, --input-format, the limits).
 * @param io Where standard input comes from.
 * @param counts The run's row counts.
 * @returns The opened input.
 * @throws {InputError} If the path cannot be read.
 */
export function openMonitorSource(
  args: Pick<MonitorArgs, "demo" | "input" | "inputFormat" | "maxColumns" | "maxLineBytes">,
  io: CliIo,
  counts: RowCounts,
): MonitorSource {
  const path = args.demo ? DEMO_DATA_PATH : args.input!;
  const format = inputFormat(args, path, quoteInput(path, 300));
  const input = openInput(path, io);
  const label = args.demo ? "data/seattle-weather.csv (bundled demo)" : input.label;
  const limits = { maxColumns: args.maxColumns, maxLineBytes: args.maxLineBytes };
  if (format === "csv") {
    let header = true;
    const countRow = () => (header ? (header = false) : counts.read++);
    return {
      input,
      label,
      records: { format: "csv", records: counting(parseCsv(input.bytes, limits), countRow) },
    };
  }
  return {
    input,
    label,
    records: {
      format: "ndjson",
      records: counting(parseNdjson(input.bytes, limits), () => counts.read++),
    },
  };
}
