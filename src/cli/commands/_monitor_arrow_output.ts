/**
 * `monitor --format arrow`: one row per batch, the fields of the NDJSON
 * record flattened into columns, written as an Arrow IPC stream by
 * `toArrowIpc` to `--output` or a pipe, for DuckDB, polars, pandas or pyarrow.
 *
 * @module
 */

import { statSync } from "node:fs";
import { type ArrowIpcColumn, type ArrowIpcRecord, toArrowIpc } from "../../arrow/to_arrow_ipc.ts";
import type { BatchResult } from "../../stream/batch_result.ts";
import type { CliIo } from "../cli_io.ts";
import { openOutputFile } from "../output/output_file.ts";
import { binaryStdout } from "./_binary_stdout.ts";
import type { MonitorArgs } from "./monitor_args.ts";

/** The flags the Arrow output reads. */
export type ArrowOutputArgs = Pick<
  MonitorArgs,
  "input" | "output" | "window" | "decay" | "correlations"
>;

/** Results per record batch of a file or pipe input; a live input (standard input, a FIFO) writes each batch's row at once. */
const ROWS_PER_BATCH = 1024;

/**
 * The columns of the stream: those of the NDJSON record, `running.loss` as
 * `runningLoss` and so on; the window's only with --window/--decay, the
 * correlations (flattened `(F, M)` row-major, `List<Float64>`) only with
 * --correlations.
 *
 * @param args The flags.
 * @returns The columns, in order.
 */
export function arrowOutputColumns(args: ArrowOutputArgs): ArrowIpcColumn[] {
  const windowed = args.window !== undefined || args.decay !== undefined;
  const float = (name: string): ArrowIpcColumn => ({ name, type: "float64" });
  return [
    { name: "index", type: "int64", nullable: false },
    { name: "firstLine", type: "int64", nullable: false },
    { name: "batchSize", type: "int64" },
    { name: "count", type: "int64", nullable: false },
    float("tol"),
    float("loss"),
    float("runningTol"),
    float("runningLoss"),
    ...(windowed ? ["windowTol", "windowLoss", "windowEffectiveCount"].map(float) : []),
    { name: "alert", type: "bool", nullable: false },
    { name: "skipped", type: "utf8" },
    ...(args.correlations
      ? ["batchCorrelations", "runningCorrelations", ...(windowed ? ["windowCorrelations"] : [])]
        .map((name): ArrowIpcColumn => ({ name, type: "float64[]" }))
      : []),
  ];
}

/** One batch's row. */
function arrowRecord(
  result: BatchResult,
  firstLine: number,
  alert: boolean,
  args: ArrowOutputArgs,
): ArrowIpcRecord {
  const windowed = args.window !== undefined || args.decay !== undefined;
  const record: Record<string, ArrowIpcRecord[string]> = {
    index: result.index,
    firstLine,
    batchSize: Number.isInteger(result.batchSize) ? result.batchSize : null,
    count: result.count,
    tol: result.tol,
    loss: result.loss,
    runningTol: result.running.tol,
    runningLoss: result.running.loss,
    alert,
    skipped: result.skipped?.reason ?? null,
  };
  if (windowed) {
    record.windowTol = result.window?.tol ?? null;
    record.windowLoss = result.window?.loss ?? null;
    record.windowEffectiveCount = result.window?.effectiveCount ?? null;
  }
  if (args.correlations) {
    record.batchCorrelations = result.correlations?.data ?? null;
    record.runningCorrelations = result.running.correlations?.data ?? null;
    if (windowed) record.windowCorrelations = result.window?.correlations?.data ?? null;
  }
  return record;
}

/** Whether the input is read as it arrives (standard input, a named pipe). */
function liveInput(input: string | undefined): boolean {
  if (input === undefined) return false;
  if (input === "-") return true;
  try {
    return statSync(input).isFIFO();
  } catch {
    return false;
  }
}

/** Where the bytes go: --output, or standard output (refused when it is a terminal). */
function byteSink(
  args: ArrowOutputArgs,
  io: CliIo,
): { write(bytes: Uint8Array): Promise<void>; close(): Promise<void> } {
  if (args.output !== undefined && args.output !== "-") {
    const file = openOutputFile({
      name: args.output,
      flag: "--output",
      what: "the Arrow IPC stream",
    });
    // The file's node stream takes bytes as well as the text its sink is typed for.
    return {
      write: async (bytes) => await file.sink.write(bytes as unknown as string),
      close: () => file.close(),
    };
  }
  const write = binaryStdout(io, "monitor as --format arrow's binary output", "results.arrows");
  return { write, close: async () => {} };
}

/** The per-batch rows of a run, streamed as Arrow IPC while the run goes on. */
export class ArrowOutput {
  readonly #args: ArrowOutputArgs;
  readonly #queue: ArrowIpcRecord[] = [];
  readonly #limit: number;
  #ended = false;
  #aborted = false;
  #wakeReader: (() => void) | undefined;
  #wakeWriter: (() => void) | undefined;
  #failure: { error: unknown } | undefined;
  readonly #pump: Promise<void>;

  private constructor(args: ArrowOutputArgs, sink: ReturnType<typeof byteSink>) {
    this.#args = args;
    const rowsPerBatch = liveInput(args.input) ? 1 : ROWS_PER_BATCH;
    this.#limit = 2 * rowsPerBatch;
    const stream = toArrowIpc(this.#records(), {
      columns: arrowOutputColumns(args),
      rowsPerBatch,
    });
    this.#pump = this.#run(stream, sink);
  }

  /**
   * Opens the output: the --output file, or standard output when it can take bytes.
   *
   * @param args The flags.
   * @param io The streams.
   * @returns The output.
   * @throws {UsageError} For a terminal or text-only standard output.
   * @throws {OutputError} For an --output that cannot be written.
   */
  static open(args: ArrowOutputArgs, io: CliIo): ArrowOutput {
    return new ArrowOutput(args, byteSink(args, io));
  }

  async #run(
    stream: ReadableStream<Uint8Array>,
    sink: ReturnType<typeof byteSink>,
  ): Promise<void> {
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        await sink.write(value);
      }
      await sink.close();
    } catch (error) {
      this.#failure ??= { error };
      await reader.cancel().catch(() => {});
      await sink.close().catch(() => {});
      this.#wakeWriter?.();
    }
  }

  async *#records(): AsyncGenerator<ArrowIpcRecord> {
    for (;;) {
      const record = this.#queue.shift();
      if (record !== undefined) {
        this.#wakeWriter?.();
        yield record;
        continue;
      }
      if (this.#aborted) throw new Error("the run failed; the stream is left without its end");
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wakeReader = resolve));
      this.#wakeReader = undefined;
    }
  }

  /**
   * Adds one batch's row, waiting while the output is behind.
   *
   * @param result The batch's result.
   * @param firstLine Its first line (row of a columnar input).
   * @param alert Whether it crossed the alert level.
   * @throws {ClosedOutputError} Once the reader has gone.
   * @throws {BatchCorrError} `peer_missing` when apache-arrow is not installed.
   */
  async write(result: BatchResult, firstLine: number, alert: boolean): Promise<void> {
    this.#throwFailure();
    this.#queue.push(arrowRecord(result, firstLine, alert, this.#args));
    this.#wakeReader?.();
    while (this.#queue.length >= this.#limit && this.#failure === undefined) {
      await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
      this.#wakeWriter = undefined;
    }
    this.#throwFailure();
  }

  #throwFailure(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /**
   * Stops after a failed run: the rows written so far stay, without the
   * end-of-stream marker, so that a reader can tell the stream is incomplete.
   *
   * @returns When the output is closed.
   */
  async abort(): Promise<void> {
    this.#aborted = true;
    this.#failure ??= { error: undefined };
    this.#wakeReader?.();
    await this.#pump;
  }

  /**
   * Ends the stream (its last record batch and the end-of-stream marker) and closes the output.
   *
   * @throws What writing failed with.
   */
  async close(): Promise<void> {
    this.#ended = true;
    this.#wakeReader?.();
    await this.#pump;
    this.#throwFailure();
  }
}
