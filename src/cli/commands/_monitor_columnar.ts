/**
 * A monitor run over an Arrow IPC or Parquet input: the file (or, for Arrow,
 * a pipe or standard input) read by `fromArrow` or `fromParquet` straight
 * into batches of `--batch-size` rows, the reader's errors turned into the
 * CLI's input errors, nulls handled by `--on-bad-row`, the rows counted.
 *
 * @module
 */

import { closeSync, createReadStream, openSync, readSync, statSync } from "node:fs";
import { fromArrow, fromArrowFile, type PositionalFile } from "../../arrow/from_arrow.ts";
import type { ColumnarBatch, ColumnarOptions, SkippedRow } from "../../arrow/columnar_options.ts";
import { BatchCorrError } from "../../core/errors.ts";
import { checkElementLimit } from "../../core/limits.ts";
import { fromParquet, openParquetFile } from "../../parquet/from_parquet.ts";
import type { CliIo } from "../cli_io.ts";
import { InputError } from "../errors.ts";
import type { BadRowLog } from "../input/bad_row_log.ts";
import { iterateChunks } from "../input/byte_source.ts";
import { checkUniqueSelection, type ResolvedColumns } from "../input/column_selection.ts";
import type { BatchStart } from "../output/batch_table.ts";
import { quoteInput, safeText } from "../output/safe_text.ts";
import type { RowCounts } from "../row_counts.ts";
import { untilAborted } from "../service/until_aborted.ts";
import { ArrowBytes, checkIpcEnd, isIpcFile } from "./_arrow_bytes.ts";
import { unlessStopped } from "./_monitor_shutdown.ts";
import type { ColumnarFormat } from "./_monitor_input_format.ts";
import type { MonitorArgs } from "./monitor_args.ts";

const PATH_CHARACTERS = 300;

/** The flags a columnar run reads. */
export type ColumnarArgs = Pick<
  MonitorArgs,
  "input" | "confounds" | "features" | "onBadRow" | "batchSize" | "maxElements"
>;

/** A columnar input opened for a run: its batches, with what the rest of the run reads of it. */
export interface ColumnarRun {
  /** The input's size and bytes read (for the progress line), and its name. */
  source: { input: { bytesRead(): number; totalBytes: number | undefined }; label: string };
  /** The columns, from the first batch (the flags' names when no row was usable). */
  columns: ResolvedColumns;
  /** Rows passed on, and where each batch starts (`line` is the 1-based row of the file). */
  rows: { readonly used: number; nextStart(): BatchStart };
  /** The batches, up to a shutdown signal. */
  batches: AsyncIterable<ColumnarBatch>;
}

/** An opened input: the reader's batches, the bytes read, and how to end it. */
interface OpenedColumnar {
  batches: AsyncGenerator<ColumnarBatch, void, undefined>;
  bytesRead(): number;
  totalBytes: number | undefined;
  /** Checks the end of the input once the reader is done. */
  finish(): Promise<void>;
  close(): Promise<void>;
}

/** Refuses a path that is missing, or not a regular file (Parquet) or a file or pipe (Arrow). */
function checkPath(path: string, label: string, format: ColumnarFormat) {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    throw new InputError(
      `Cannot read the input as it must be a readable file${
        format === "arrow" ? " or pipe" : ""
      }: current value is ${label} (${safeText((error as Error).message, PATH_CHARACTERS)})`,
    );
  }
  if (stat.isFile() || (format === "arrow" && stat.isFIFO())) return stat;
  throw new InputError(
    format === "parquet" && stat.isFIFO()
      ? `Cannot read the input as a Parquet input must be a regular file (its footer, at the end, is read first): current value is ${label}, a pipe`
      : `Cannot read the input as it must be a readable file or pipe: current value is ${label} (${
        stat.isDirectory() ? "a directory" : "a device, socket or other special file"
      })`,
  );
}

async function openParquet(path: string, options: ColumnarOptions): Promise<OpenedColumnar> {
  let read = 0;
  const opened = await openParquetFile(path, {
    onRead: (bytes) => (read += bytes),
    synchronous: true,
  });
  const size = opened.buffer.byteLength;
  return {
    batches: fromParquet(opened.buffer, options),
    bytesRead: () => Math.min(read, size),
    totalBytes: size,
    finish: async () => {},
    close: opened.close,
  };
}

/**
 * A regular Arrow file, read by position with synchronous reads of exactly
 * what the reader asks for (each message body in one read, into a buffer of
 * its own): in Deno the Node stream behind `createReadStream` cost about
 * 0.25 s more on the first 80 MB, and a read from the page cache blocks for
 * well under a millisecond.
 */
function openArrowFile(
  path: string,
  label: string,
  options: ColumnarOptions,
  size: number,
): OpenedColumnar {
  const fd = openSync(path, "r");
  let read = 0;
  let closed = false;
  const file: PositionalFile = {
    size,
    read: (buffer, position) => {
      const bytes = readSync(fd, buffer, 0, buffer.length, position);
      read += bytes;
      return bytes;
    },
    close: () => {
      if (!closed) {
        closed = true;
        closeSync(fd);
      }
      return Promise.resolve();
    },
  };
  // The ends are read now, while the file is open; the reader closes it when it is done.
  const head = new Uint8Array(Math.min(size, 6));
  const tail = new Uint8Array(Math.min(size, 8));
  try {
    readSync(fd, head, 0, head.length, 0);
    readSync(fd, tail, 0, tail.length, size - tail.length);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  const ends = () => {
    checkIpcEnd(tail, isIpcFile(head), size, label);
    read = size;
  };
  return {
    batches: fromArrowFile(file, path, options),
    bytesRead: () => Math.min(read, size),
    totalBytes: size,
    finish: () => Promise.resolve().then(ends),
    close: () => file.close(),
  };
}

function openArrow(
  path: string,
  io: Pick<CliIo, "stdin">,
  label: string,
  options: ColumnarOptions,
  totalBytes: number | undefined,
): OpenedColumnar {
  if (path !== "-" && totalBytes !== undefined) {
    return openArrowFile(path, label, options, totalBytes);
  }
  const chunks = path === "-"
    ? iterateChunks(io.stdin())
    : createReadStream(path, { highWaterMark: 1 << 20 }) as unknown as AsyncIterable<Uint8Array>;
  const bytes = new ArrowBytes(chunks, label);
  return {
    batches: fromArrow(bytes, options),
    bytesRead: () => bytes.bytesRead(),
    totalBytes,
    finish: () => bytes.finish(),
    close: () => bytes.close(),
  };
}

/**
 * A reader's error as the CLI's: its own checks (a missing column, a type
 * that cannot be read as numbers, a null, a 64-bit integer beyond 2^53, an
 * undecodable input) become an {@linkcode InputError} naming the input and
 * the flags, with 1-based rows; anything else (a missing peer) is kept.
 */
function inputError(error: unknown, label: string, context: string): unknown {
  const readerCheck = error instanceof TypeError || error instanceof RangeError ||
    (error instanceof BatchCorrError && error.code === "stream_batch_failed");
  if (!readerCheck || !(error as Error).message.startsWith(`Cannot ${context} as `)) return error;
  let line: number | undefined;
  const message = (error as Error).message
    .replace(`Cannot ${context} as `, `Cannot read ${label} (${context.slice(5)}) as `)
    .replace(/options\.(confounds|features)\[\d+\]/g, "--$1")
    .replace(/options\.features/g, "--features")
    .replace(`with options.nulls "error"`, "under --on-bad-row error")
    .replace(`(pass nulls: "skip-row" to drop such rows)`, "(--on-bad-row skip drops such rows)")
    .replace(/\bat row (\d+)/g, (_, row: string) => `at row ${(line = Number(row) + 1)}`);
  return new InputError(message, line === undefined ? {} : { line });
}

/**
 * Opens an Arrow IPC or Parquet input and reads its first batch (which
 * gives the columns), or undefined when `signal` aborts first.
 *
 * @param args The input, the columns, the bad-row policy, the batch size and --max-elements.
 * @param format Which reader.
 * @param io Where standard input comes from.
 * @param run The row counts, the bad-row log and the shutdown signal.
 * @returns The run's input.
 * @throws {InputError} For a path that cannot be read, a column that is not
 *   there or not numeric, a null under --on-bad-row error, a truncated or corrupt input.
 * @throws {BatchCorrError} `peer_missing` when apache-arrow or hyparquet is not installed.
 */
export async function openColumnarRun(
  args: ColumnarArgs,
  format: ColumnarFormat,
  io: Pick<CliIo, "stdin">,
  run: { counts: RowCounts; log: BadRowLog; signal: AbortSignal },
): Promise<ColumnarRun | undefined> {
  // The CSV reader's rule and message: the readers would refuse a repeat as a bad option.
  checkUniqueSelection(args);
  const path = args.input!;
  const label = path === "-" ? "standard input" : quoteInput(path, PATH_CHARACTERS);
  const stat = path === "-" ? undefined : checkPath(path, label, format);
  const { counts, log } = run;
  const confounds = new Set(args.confounds);
  const skipped = (row: SkippedRow) => {
    log.add({
      line: row.row + 1,
      kind: "missing_value",
      reason: `missing value (null) in ${
        confounds.has(row.column) ? "confound" : "feature"
      } column ${quoteInput(row.column)}`,
    });
    counts.read = Math.max(counts.read, row.row + 1);
  };
  const options: ColumnarOptions = {
    confounds: args.confounds,
    ...(args.features === undefined ? {} : { features: args.features }),
    nulls: args.onBadRow === "skip" ? "skip-row" : "error",
    batchSize: args.batchSize,
    onSkippedRow: skipped,
    // correlateBatches finishes each batch before it pulls the next.
    reuseBuffers: true,
  };
  const context = format === "arrow" ? "read Arrow IPC" : "read Parquet";
  const opened = format === "arrow"
    ? openArrow(path, io, label, options, stat?.isFile() ? stat.size : undefined)
    : await openParquet(path, options);
  const starts: BatchStart[] = [];
  const rows = { used: 0, nextStart: () => starts.shift() ?? { line: 0 } };
  const next = async () => {
    try {
      const item = await opened.batches.next();
      if (item.done) await opened.finish();
      return item;
    } catch (error) {
      const failure = inputError(error, label, context);
      // The row that failed was read, as a CSV row that fails is.
      if (failure instanceof InputError && failure.line !== undefined) {
        counts.read = Math.max(counts.read, failure.line);
      }
      throw failure;
    }
  };
  let first: IteratorResult<ColumnarBatch, void>;
  try {
    const result = await unlessStoppedOrClose(next(), run.signal, opened);
    if (result === undefined) return undefined;
    first = result;
  } catch (error) {
    await opened.close();
    throw error;
  }
  const columns: ResolvedColumns = first.done
    ? { features: [...(args.features ?? [])], confounds: [...args.confounds] }
    : {
      features: [...first.value.columns.features],
      confounds: [...first.value.columns.confounds],
    };
  checkElementLimit(
    columns.features.length,
    columns.confounds.length,
    args.maxElements,
    "monitor the input",
    "--max-elements",
  );
  async function* batches(): AsyncGenerator<ColumnarBatch> {
    try {
      for (let item = first; !item.done; item = await next()) {
        const batch = item.value;
        starts.push({ line: batch.firstRow + 1 });
        rows.used += batch.x.shape[0];
        counts.used = rows.used;
        counts.read = Math.max(counts.read, batch.lastRow + 1);
        yield batch;
      }
    } finally {
      await opened.batches.return();
      await opened.close();
    }
  }
  return {
    source: {
      input: { bytesRead: opened.bytesRead, totalBytes: opened.totalBytes },
      label: path === "-" ? "standard input" : safeText(path, PATH_CHARACTERS),
    },
    columns,
    rows,
    batches: untilAborted(batches(), run.signal),
  };
}

/** Waits for the first batch unless the signal comes first, then closes the input. */
async function unlessStoppedOrClose<T>(
  work: Promise<T>,
  signal: AbortSignal,
  opened: OpenedColumnar,
): Promise<T | undefined> {
  const result = await unlessStopped(work, signal);
  if (result === undefined) await opened.close();
  return result;
}
