/**
 * The monitor service's implementation: routes `/metrics`, `/healthz`, `/`
 * and `/events`, and paces the live page's updates.
 *
 * @module
 */

import type {
  DriftBatchRecord,
  DriftMetrics,
  DriftStatus,
  RecordBatchOptions,
  RowTotals,
} from "./drift_metrics.ts";
import { type HttpListener, listenHttp } from "./http_listener.ts";
import type { ListenAddress } from "./listen_address.ts";
import { LIVE_PAGE_CSP, renderLivePage, renderLiveUpdate, type ReportData } from "./live_page.ts";
import type { MetricFamily } from "./prometheus_text.ts";
import { PROMETHEUS_TEXT_CONTENT_TYPE } from "./prometheus_text.ts";
import { SseChannel, type SseChannelOptions, type SseChannelStats } from "./sse_channel.ts";
import { withoutUndefined } from "./_without_undefined.ts";

/** The longest delay a timer takes as given (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const JSON_HEADERS = {
  "content-type": "application/json; charset=utf-8",
  "cache-control": "no-store",
};

function text(body: string, status: number, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * The running `MonitorService` that `startMonitorService` returns:
 * the listener, the metrics and the live page's channel.
 */
export class Service {
  readonly url: string;
  readonly address: ListenAddress;
  readonly #metrics: DriftMetrics;
  readonly #report: () => ReportData;
  readonly #channel: SseChannel;
  readonly #minIntervalMs: number;
  readonly #listener: HttpListener;
  readonly #statusTimer: ReturnType<typeof setInterval>;
  #liveTimer: ReturnType<typeof setTimeout> | undefined;
  #lastRenderAt = 0;
  #lastRenderMs = 0;
  #lastStatus = "";
  #closing: Promise<void> | undefined;

  constructor(
    metrics: DriftMetrics,
    report: () => ReportData,
    live: SseChannelOptions & { minIntervalMs?: number },
    address: ListenAddress,
  ) {
    this.#metrics = metrics;
    this.#report = report;
    const { minIntervalMs, ...channelOptions } = live;
    this.#minIntervalMs = minIntervalMs ?? 250;
    this.#channel = new SseChannel(withoutUndefined(channelOptions));
    try {
      this.#listener = listenHttp((request) => this.#handle(request), address);
    } catch (error) {
      void this.#channel.close();
      throw error;
    }
    this.url = this.#listener.url;
    this.address = { host: this.#listener.host, port: this.#listener.port };
    // Flowing turns idle with time alone: the page's status line follows.
    this.#statusTimer = setInterval(() => this.#publishStatus(), 1000);
  }

  recordBatch(record: DriftBatchRecord, options: RecordBatchOptions): void {
    this.#metrics.recordBatch(record, options);
    this.#scheduleLive();
  }

  recordRows(rows: RowTotals): void {
    this.#metrics.recordRows(rows);
    this.#publishStatus();
  }

  endInput(): void {
    this.#metrics.endInput();
    this.#scheduleLive();
  }

  failInput(error: unknown): void {
    this.#metrics.failInput(error);
    this.#scheduleLive();
  }

  status(): DriftStatus {
    return this.#metrics.status();
  }

  metricsText(): string {
    return this.#metrics.render(this.#liveFamilies());
  }

  liveStats(): SseChannelStats {
    return this.#channel.stats;
  }

  serveFor(ms: number, signal?: AbortSignal): Promise<void> {
    if (!(typeof ms === "number" && ms >= 0)) {
      throw new RangeError(
        `Cannot keep serving as the time must be a non-negative number of milliseconds: current value is ${ms}`,
      );
    }
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const until = Date.now() + ms;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      // A timer longer than 2^31 - 1 ms fires at once in every runtime: wait in steps.
      const wait = () => {
        const left = until - Date.now();
        if (left <= 0) return done();
        timer = setTimeout(wait, Math.min(left, MAX_TIMER_MS));
      };
      signal?.addEventListener("abort", done, { once: true });
      wait();
    });
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#statusTimer);
    if (this.#liveTimer !== undefined) clearTimeout(this.#liveTimer);
    this.#liveTimer = undefined;
    if (this.#channel.stats.clients > 0) this.#renderLive();
    await this.#channel.close({ event: "end", data: "" });
    await this.#listener.close();
  }

  #liveFamilies(): MetricFamily[] {
    const stats = this.#channel.stats;
    return [
      {
        name: "batch_corr_live_clients",
        help: "Live pages connected to the event stream.",
        type: "gauge",
        samples: [{ value: stats.clients }],
      },
      {
        name: "batch_corr_live_clients_dropped_total",
        help: "Live pages dropped for not reading their event stream.",
        type: "counter",
        samples: [{ value: stats.dropped }],
      },
    ];
  }

  #handle(request: Request): Response {
    const path = new URL(request.url).pathname;
    if (request.method !== "GET" && request.method !== "HEAD") {
      return text("only GET and HEAD are served\n", 405, { allow: "GET, HEAD" });
    }
    switch (path) {
      case "/metrics":
        return text(this.metricsText(), 200, {
          "content-type": PROMETHEUS_TEXT_CONTENT_TYPE,
          "cache-control": "no-store",
        });
      case "/healthz":
        return this.#health();
      case "/":
        return new Response(renderLivePage(this.#report()), {
          headers: {
            "content-type": "text/html; charset=utf-8",
            "content-security-policy": LIVE_PAGE_CSP,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-store",
          },
        });
      case "/favicon.ico":
        // Browsers ask for it; an empty answer keeps their consoles clean.
        return new Response(null, { status: 204, headers: { "cache-control": "max-age=86400" } });
      case "/events": {
        const response = this.#channel.connect();
        if (response.ok) this.#scheduleLive(true);
        return response;
      }
      default:
        return text("not found: the service serves /, /events, /metrics and /healthz\n", 404);
    }
  }

  #health(): Response {
    const status = this.#metrics.status();
    const body = JSON.stringify({
      status: status.state === "failed" ? "failed" : "ok",
      input: status.state,
      batches: status.batches,
      ...(status.lastBatchAt === undefined
        ? {}
        : { secondsSinceLastBatch: (Date.now() - status.lastBatchAt) / 1000 }),
      ...(status.error === undefined ? {} : { error: status.error }),
    });
    return new Response(`${body}\n`, {
      status: status.state === "failed" ? 503 : 200,
      headers: JSON_HEADERS,
    });
  }

  /** Merges updates: at most one render per interval, and none while no page is open. */
  #scheduleLive(force = false): void {
    if (this.#closing || this.#liveTimer !== undefined) return;
    if (!force && this.#channel.stats.clients === 0) return;
    const interval = Math.max(this.#minIntervalMs, 4 * this.#lastRenderMs);
    const wait = Math.max(0, this.#lastRenderAt + interval - Date.now());
    this.#liveTimer = setTimeout(() => {
      this.#liveTimer = undefined;
      this.#renderLive();
    }, wait);
  }

  #renderLive(): void {
    const started = performance.now();
    this.#lastRenderAt = Date.now();
    try {
      this.#channel.publish("report", renderLiveUpdate(this.#report()), { key: "report" });
    } catch (error) {
      this.#channel.publish(
        "status",
        JSON.stringify({
          state: "failed",
          batches: 0,
          error: `live page: ${(error as Error).message}`,
        }),
        { key: "status" },
      );
    }
    this.#lastRenderMs = performance.now() - started;
    this.#lastStatus = "";
    this.#publishStatus();
  }

  #publishStatus(): void {
    if (this.#channel.stats.clients === 0) return;
    const status = JSON.stringify(this.#metrics.status());
    if (status === this.#lastStatus) return;
    this.#lastStatus = status;
    this.#channel.publish("status", status, { key: "status" });
  }
}
