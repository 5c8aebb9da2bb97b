/**
 * The drift monitor as a service: one HTTP listener serving `/metrics` (the
 * Prometheus text format), `/healthz`, the live page `/` and its event
 * stream `/events`, fed batch by batch by the monitor.
 *
 * @module
 */

import { z } from "zod";
import type { ReportData } from "./live_page.ts";
import { parseOrThrow } from "./_parse.ts";
import type { NamesOption } from "./_column_names.ts";
import {
  type DriftBatchRecord,
  DriftMetrics,
  type DriftStatus,
  type RecordBatchOptions,
  type RowTotals,
} from "./drift_metrics.ts";
import { type ListenAddress, parseListenAddress } from "./listen_address.ts";
import { Service } from "./_service.ts";
import { withoutUndefined } from "./_without_undefined.ts";

export type { ReportData } from "./live_page.ts";
import type { SseChannelOptions, SseChannelStats } from "./sse_channel.ts";

/** Options of the live page. */
export interface LivePageOptions extends SseChannelOptions {
  /**
   * The least time between two updates pushed to the page; updates in
   * between are merged. It also grows to four times the last render's
   * duration, so that long runs do not spend their time drawing.
   * @default {250}
   */
  minIntervalMs?: number;
}

/** Options of {@linkcode startMonitorService}. */
export interface MonitorServiceOptions {
  /** Where to listen: `HOST:PORT`, `:PORT`, `PORT` (host 127.0.0.1), or `{ host, port }`; port 0 picks a free one. */
  listen: string | ListenAddress;
  /**
   * Feature names, in the order of the correlation rows; or a function that
   * returns them once they are known ([] until then), `confounds` being one too.
   */
  features: NamesOption;
  /** Confound names, in the order of the correlation columns; or a function returning them ([] until known). */
  confounds: NamesOption;
  /**
   * Features ranked per confound in `batch_corr_top_abs_correlation`.
   * @default {5}
   */
  top?: number;
  /** The `--alert` level, if any. */
  alertLevel?: number | undefined;
  /** The signed running correlations before the tolerance, `(F, M)` row-major (for the top-k metrics). */
  correlations?: (() => Float64Array | undefined) | undefined;
  /**
   * What the live page shows now: the same data as the `--report` page.
   * Called when a page is loaded and for each (merged) update.
   */
  report: () => ReportData;
  /**
   * Milliseconds without input after which `/healthz` says `idle`.
   * @default {60000}
   */
  idleAfterMs?: number;
  /** Limits and timing of the live page's event stream. */
  live?: LivePageOptions;
}

/** A running monitor service. */
export interface MonitorService {
  /** `http://host:port` of the listener. */
  readonly url: string;
  /** The address listened on (with the port the system chose for port 0). */
  readonly address: ListenAddress;
  /**
   * Records one batch: updates the metrics and schedules a live update.
   *
   * @param record The batch's `BatchResult` (or an NDJSON record of `monitor`).
   * @param options Whether it alerted, and the row totals after it.
   * @throws {TypeError} If a field has the wrong type.
   * @throws {RangeError} If the index does not increase or a total decreases.
   */
  recordBatch(record: DriftBatchRecord, options: RecordBatchOptions): void;
  /**
   * Records the row totals between batches.
   *
   * @param rows Rows read and rejected so far.
   * @throws {RangeError} If a total decreases.
   */
  recordRows(rows: RowTotals): void;
  /** Marks the input as finished: `/healthz` stays 200 with state `ended`. */
  endInput(): void;
  /**
   * Marks the input as failed: `/healthz` answers 503 with the message.
   *
   * @param error The fatal error.
   */
  failInput(error: unknown): void;
  /**
   * Where the input stands (what `/healthz` reports).
   *
   * @returns The status.
   */
  status(): DriftStatus;
  /**
   * The metrics in the Prometheus text format, as `/metrics` serves them.
   *
   * @returns The exposition text.
   */
  metricsText(): string;
  /**
   * The live page's connection counters.
   *
   * @returns Clients now, dropped, refused, bytes waiting.
   */
  liveStats(): SseChannelStats;
  /**
   * Keeps serving for `ms` milliseconds, or until `signal` aborts (`--serve-after`).
   *
   * @param ms How long.
   * @param signal Ends the wait early.
   * @returns When the time is up.
   */
  serveFor(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Pushes a last update to live pages, ends their streams and stops
   * listening. Idempotent.
   *
   * @returns When the listener is closed.
   */
  close(): Promise<void>;
  /** The same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const liveSchema = z.strictObject({
  minIntervalMs: z.number({ error: "a non-negative integer (milliseconds)" })
    .int({ error: "a non-negative integer (milliseconds)" })
    .nonnegative({ error: "a non-negative integer (milliseconds)" }).default(250),
  maxClients: z.number().optional(),
  maxQueuedBytes: z.number().optional(),
  stallTimeoutMs: z.number().optional(),
  heartbeatMs: z.number().optional(),
  retryMs: z.number().optional(),
}, { error: "an object of live page options" });

const optionsSchema = z.object({
  listen: z.union([
    z.string(),
    z.strictObject({ host: z.string(), port: z.number() }),
  ], { error: 'a "HOST:PORT" string or { host, port }' }),
  report: z.custom<() => ReportData>((value) => typeof value === "function", {
    error: "a function returning the report data",
    params: { kind: "type" },
  }),
  live: liveSchema.default({ minIntervalMs: 250 }),
}, { error: "an object of monitor service options" });

/**
 * Starts the monitor service: parses `listen`, binds it, and serves
 *
 * - `/metrics`: the {@linkcode DriftMetrics} in the Prometheus text format
 *   (plus `batch_corr_live_clients` and `batch_corr_live_clients_dropped_total`);
 * - `/healthz`: 200 with JSON while the input is waiting, flowing, idle or
 *   ended, 503 after `failInput()`;
 * - `/`: the live page (the HTML report, kept up to date) and `/events`, its
 *   Server-Sent Events stream with a bounded queue per client.
 *
 * The monitor calls `recordBatch()` for each result, `recordRows()` as bad
 * rows pass, `endInput()` or `failInput()` at the end, `serveFor()` for
 * `--serve-after`, and `close()`.
 *
 * @param options Where to listen, the names, the report data and the live page limits.
 * @returns The running service. Every failure rejects the promise:
 * @throws {TypeError} If an option has the wrong type.
 * @throws {RangeError} If the address is malformed or an option is out of range.
 * @throws {ServiceError} `address_in_use`, `address_unavailable`,
 * `permission_denied` or `listen_failed` when the address cannot be listened on.
 *
 * @example Serving a run's metrics on a free port
 * ```ts
 * import { startMonitorService } from "./monitor_service.ts";
 * import assert from "node:assert/strict";
 *
 * const service = await startMonitorService({
 *   listen: "127.0.0.1:0", features: ["f0"], confounds: ["c"],
 *   report: () => ({ source: "demo", settings: [], points: [], alertLevel: undefined, windowLabel: undefined,
 *     features: ["f0"], confounds: ["c"], finalCorrelations: undefined, top: 5, rows: 0, samples: 0,
 *     badRows: { count: 0, rows: [] }, skippedBatches: [] }),
 * });
 * try {
 *   service.recordBatch({ index: 0, batchSize: 10, count: 10, tol: 0, loss: 0.2, running: { tol: 0, loss: 0.2 } }, { alert: false });
 *   const text = await (await fetch(`${service.url}/metrics`)).text();
 *   assert.match(text, /^batch_corr_running_loss 0\.2$/m);
 *   assert.equal((await fetch(`${service.url}/healthz`)).status, 200);
 * } finally {
 *   await service.close();
 * }
 * ```
 */
// deno-lint-ignore require-await -- async so that every failure rejects the promise, none throws
export async function startMonitorService(
  options: MonitorServiceOptions,
): Promise<MonitorService> {
  const context = "start the monitor service";
  const parsed = parseOrThrow(optionsSchema, options, context, "options");
  const address = typeof parsed.listen === "string"
    ? parseListenAddress(parsed.listen)
    : parsed.listen;
  if (typeof parsed.listen !== "string") {
    // The same checks as for text: an object goes through its formatted form.
    parseListenAddress(
      `${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`,
    );
  }
  const metrics = new DriftMetrics(withoutUndefined({
    features: options.features,
    confounds: options.confounds,
    top: options.top,
    alertLevel: options.alertLevel,
    correlations: options.correlations,
    idleAfterMs: options.idleAfterMs,
  }));
  return Promise.resolve(
    new Service(metrics, parsed.report, withoutUndefined(parsed.live), address),
  );
}
