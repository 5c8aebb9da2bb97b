/**
 * The service side of a monitor run (`--metrics`, `--serve-after`): started
 * once the columns are known (a file or stdin) or at once (an aggregating
 * monitor, whose names arrive with the first committed batch), fed every
 * batch, kept serving for `--serve-after` after the input ends or fails,
 * then closed. Without `--metrics` every method does nothing, so the run
 * calls them unconditionally.
 *
 * Any input mode feeds it the same way: the file and stdin monitor calls
 * `recordBatch` per `BatchResult`; the aggregating monitor (`--redis`,
 * `--nats`) calls it per aggregator record mapped to a `BatchResult`, with
 * the group's batch totals; a program with a record stream of its own maps
 * each to a {@linkcode ServedRecord} and passes the stream through
 * {@linkcode MonitorServiceHook.served}.
 *
 * @module
 */

import type { CliIo } from "../cli_io.ts";
import { UsageError } from "../errors.ts";
import type { ReportData } from "../output/report_data.ts";
import type { BatchTotals, DriftBatchRecord, RowTotals } from "../service/drift_metrics.ts";
import { type ListenAddress, safeParseListenAddress } from "../service/listen_address.ts";
import type { MonitorService } from "../service/monitor_service.ts";

/** The flags the service side reads. */
export interface MonitorServiceArgs {
  /** `--metrics`, parsed; undefined: no service. */
  metrics: ListenAddress | undefined;
  /** `--serve-after`, in seconds. */
  serveAfter: number;
  /** `--top`: features ranked per confound. */
  top: number;
  /** `--alert`, exposed as `batch_corr_alert_level`. */
  alert: number | undefined;
}

/** What the service shows of a run. */
export interface MonitorServiceSetup {
  /**
   * Feature names, in the order of the correlation rows; or, for an input
   * that learns them from its first batch (an aggregator's), a function that
   * returns them ([] until then), `confounds` being one too.
   */
  features: readonly string[] | (() => readonly string[]);
  /** Confound names, in the order of the correlation columns; or a function returning them ([] until known). */
  confounds: readonly string[] | (() => readonly string[]);
  /** The signed running correlations before the tolerance, `(F, M)`, or undefined before any sample. */
  correlations: () => Float64Array | undefined;
  /** What the live page shows now: the `--report` page's data. */
  report: () => ReportData;
}

/** One record of a stream fed to the service: a batch (or aggregate) and its alert. */
export interface ServedRecord {
  /** The batch's numbers: a `BatchResult`, an NDJSON record, or an aggregate mapped to them. */
  record: DriftBatchRecord;
  /** Whether it crossed the alert level. */
  alert: boolean;
  /** The row totals after it, when the input counts rows. */
  rows?: RowTotals | undefined;
  /** The batch totals after it, when the input counts them itself (an aggregator's committed batches). */
  totals?: BatchTotals | undefined;
}

/** The least time between two row-total updates pushed while rows stream in. */
const ROWS_EVERY_MS = 250;

/**
 * `--metrics` checked as `safeParseListenAddress` checks it.
 *
 * @param text The flag's text, if given.
 * @returns The address, or undefined without the flag.
 * @throws {UsageError} With the parser's message when the text is not `HOST:PORT`.
 */
export function metricsAddress(text: string | undefined): ListenAddress | undefined {
  if (text === undefined) return undefined;
  const result = safeParseListenAddress(text);
  if (!result.success) throw new UsageError(result.error.message);
  return result.data;
}

/**
 * Refuses `--serve-after` without `--metrics`: there would be nothing to serve.
 *
 * @param metrics The `--metrics` text, if given.
 * @param serveAfter The `--serve-after` value, if given.
 * @throws {UsageError} When `--serve-after` comes alone.
 */
export function checkServiceFlags(
  metrics: string | undefined,
  serveAfter: number | undefined,
): void {
  if (serveAfter === undefined || metrics !== undefined) return;
  throw new UsageError(
    `Cannot run monitor as --serve-after must come with --metrics HOST:PORT (it keeps the metrics served): current value is ${serveAfter} without --metrics`,
  );
}

/** The service of one monitor run, or nothing when `--metrics` is not given. */
export class MonitorServiceHook {
  readonly #service: MonitorService | undefined;
  readonly #serveAfterMs: number;
  readonly #io: CliIo;
  #failed = false;
  #rowsPushedAt = 0;

  private constructor(service: MonitorService | undefined, serveAfter: number, io: CliIo) {
    this.#service = service;
    this.#serveAfterMs = serveAfter * 1000;
    this.#io = io;
  }

  /**
   * Starts the service when `--metrics` is given and prints its URL on stderr.
   *
   * @param args The service flags.
   * @param io Where the URL is printed.
   * @param setup The columns, the correlations and the live page's data.
   * @returns The hook (inert without `--metrics`).
   * @throws {ServiceError} When the address cannot be listened on (in use, not an address here).
   */
  static async open(
    args: MonitorServiceArgs,
    io: CliIo,
    setup: MonitorServiceSetup,
  ): Promise<MonitorServiceHook> {
    if (args.metrics === undefined) return new MonitorServiceHook(undefined, 0, io);
    // Loaded only with --metrics: the HTTP service and its page are most of the CLI's start-up otherwise.
    const { startMonitorService } = await import("../service/monitor_service.ts");
    const service = await startMonitorService({
      listen: args.metrics,
      features: setup.features,
      confounds: setup.confounds,
      top: args.top,
      alertLevel: args.alert,
      correlations: setup.correlations,
      report: setup.report,
    });
    io.stderr.write(
      `batch-corr: serving ${service.url}/metrics, ${service.url}/healthz and the live page ${service.url}/\n`,
    );
    return new MonitorServiceHook(service, args.serveAfter, io);
  }

  /** `http://host:port` of the service, when there is one. */
  get url(): string | undefined {
    return this.#service?.url;
  }

  /**
   * Records one batch.
   *
   * @param record The batch's result (or a record mapped to its fields).
   * @param alert Whether it crossed the alert level.
   * @param rows The row totals after it.
   * @param totals The batch totals after it, when the input counts them itself.
   */
  recordBatch(
    record: DriftBatchRecord,
    alert: boolean,
    rows?: RowTotals,
    totals?: BatchTotals,
  ): void {
    this.#service?.recordBatch(record, { alert, rows, totals });
    this.#rowsPushedAt = Date.now();
  }

  /**
   * Records the row totals between batches (bad rows, rows of a batch still filling).
   *
   * @param rows Rows read and rejected so far.
   */
  recordRows(rows: RowTotals): void {
    this.#service?.recordRows(rows);
    this.#rowsPushedAt = Date.now();
  }

  /**
   * Passes `rows` through, pushing the row totals at most every 250 ms while
   * they stream in, so that a long batch still shows the input flowing.
   *
   * @param rows Any rows.
   * @param totals The row totals now.
   * @returns The same rows.
   */
  watchRows<T>(rows: AsyncIterable<T>, totals: () => RowTotals): AsyncIterable<T> {
    return this.#service === undefined ? rows : this.#watched(rows, totals);
  }

  async *#watched<T>(rows: AsyncIterable<T>, totals: () => RowTotals): AsyncGenerator<T> {
    for await (const row of rows) {
      if (Date.now() - this.#rowsPushedAt >= ROWS_EVERY_MS) this.recordRows(totals());
      yield row;
    }
  }

  /**
   * Records each item of a record stream as it passes (for input modes that
   * produce their own records, such as an aggregator's).
   *
   * @param records The records.
   * @returns The same records, each recorded before it is yielded.
   */
  async *served<T extends ServedRecord>(records: AsyncIterable<T>): AsyncGenerator<T> {
    for await (const item of records) {
      this.recordBatch(item.record, item.alert, item.rows, item.totals);
      yield item;
    }
  }

  /**
   * Marks the input as failed (`/healthz` answers 503) and keeps serving for
   * `--serve-after`, or until `signal` aborts; the caller then reports the error.
   *
   * @param error The fatal error.
   * @param signal The shutdown signal.
   * @returns When the wait is over and the service is closed.
   */
  async fail(error: unknown, signal: AbortSignal): Promise<void> {
    if (this.#service === undefined || this.#failed) return;
    this.#failed = true;
    this.#service.failInput(error);
    if (this.#serveAfterMs > 0 && !signal.aborted) {
      this.#io.stderr.write(
        `\nbatch-corr: the input failed (${
          error instanceof Error ? error.message : String(error)
        }); /healthz answers 503 for ${this.#serveAfterMs / 1000} s (--serve-after)\n`,
      );
    }
    await this.#service.serveFor(this.#serveAfterMs, signal);
    await this.close();
  }

  /** Marks the input as finished (`/healthz` stays 200, state `ended`). */
  endInput(): void {
    this.#service?.endInput();
  }

  /**
   * Keeps serving for `--serve-after`, or until `signal` aborts, then closes.
   *
   * @param signal The shutdown signal.
   * @returns When the service is closed.
   */
  async serveAfterInput(signal: AbortSignal): Promise<void> {
    if (this.#service === undefined) return;
    if (this.#serveAfterMs > 0 && !signal.aborted) {
      this.#io.stderr.write(
        `batch-corr: still serving ${this.#service.url} for ${
          this.#serveAfterMs / 1000
        } s (--serve-after; SIGINT/SIGTERM stops it)\n`,
      );
    }
    await this.#service.serveFor(this.#serveAfterMs, signal);
    await this.close();
  }

  /**
   * Closes the service (a last update to live pages, then the listener). Idempotent.
   *
   * @returns When it is closed.
   */
  close(): Promise<void> {
    return this.#service?.close() ?? Promise.resolve();
  }
}
