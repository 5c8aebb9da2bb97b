import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import process from "node:process";
import {
  type MonitorService,
  startMonitorService,
} from "../../../src/cli/service/monitor_service.ts";
import { LIVE_PAGE_CSP } from "../../../src/cli/service/live_page.ts";
import { ServiceError } from "../../../src/cli/service/service_error.ts";
import { RunState } from "./_live_data.ts";
import {
  findExecutable,
  neverReadingClient,
  parseExposition,
  promtool,
  samplesOf,
  sleep,
  valueOf,
  waitFor,
} from "./_support.ts";

const RUN = {
  batches: 24,
  batchSize: 40,
  features: 6,
  driftBatch: 12,
  strength: 0.8,
  seed: 4,
  window: 4,
  alert: 0.2,
};
const PROMTOOL = findExecutable("promtool");

async function startFor(
  state: RunState,
  extra: Partial<Parameters<typeof startMonitorService>[0]> = {},
): Promise<MonitorService> {
  return await startMonitorService({
    listen: "127.0.0.1:0",
    features: state.features,
    confounds: state.confounds,
    alertLevel: RUN.alert,
    correlations: () => state.correlations(),
    report: () => state.report(),
    ...extra,
  });
}

async function scrape(service: MonitorService) {
  const response = await fetch(`${service.url}/metrics`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await response.text());
}

/** Reads `report` events from /events, returning the number of plotted points in each. */
async function readReportEvents(
  url: string,
  until: (points: number[]) => boolean,
  statuses: string[] = [],
): Promise<number[]> {
  const response = await fetch(`${url}/events`);
  assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const points: number[] = [];
  let buffer = "";
  while (!until(points)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith("event: report\n")) {
        points.push(block.match(/<circle class="batch-point/g)?.length ?? 0);
      }
      if (block.startsWith("event: status\n")) {
        statuses.push(JSON.parse(block.slice(block.indexOf("data: ") + 6)).state);
      }
      end = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return points;
}

describe("startMonitorService()", () => {
  test("serves /metrics with the values of the latest result and counters that follow the stream", async () => {
    const state = new RunState(RUN);
    const service = await startFor(state);
    try {
      const before = await scrape(service);
      assert.equal(valueOf(before, "batch_corr_running_loss"), undefined);
      assert.equal(valueOf(before, "batch_corr_batches_total"), 0);
      let rows = 0;
      for await (const { result, alert } of state.results()) {
        rows += RUN.batchSize;
        service.recordBatch(result, { alert, rows: { read: rows + 1, rejected: 1 } });
        const m = await scrape(service);
        assert.equal(valueOf(m, "batch_corr_running_loss"), result.running.loss);
        assert.equal(valueOf(m, "batch_corr_window_loss"), result.window!.loss);
        assert.equal(valueOf(m, "batch_corr_batch_loss"), result.loss);
        assert.equal(valueOf(m, "batch_corr_alert"), alert ? 1 : 0);
        assert.equal(valueOf(m, "batch_corr_batches_total"), result.index + 1);
        assert.equal(valueOf(m, "batch_corr_samples_total"), result.count);
        assert.equal(valueOf(m, "batch_corr_rows_read_total"), rows + 1);
      }
      const m = await scrape(service);
      // The drifted features f0..f2 lead the ranking at the end.
      const leaders = samplesOf(m, "batch_corr_top_feature_info").slice(0, 3).map((s) =>
        s.labels.feature
      ).sort();
      assert.deepEqual(leaders, ["f0", "f1", "f2"]);
      assert.equal(valueOf(m, "batch_corr_live_clients"), 0);
      if (PROMTOOL) {
        const text = await (await fetch(`${service.url}/metrics`)).text();
        const result = promtool(PROMTOOL, ["check", "metrics"], text);
        assert.equal(result.status, 0, result.output);
      }
    } finally {
      await service.close();
    }
  });

  test("/healthz answers 200 while waiting, flowing, idle or ended, and 503 after a fatal input error", async () => {
    const state = new RunState(RUN);
    const service = await startFor(state, { idleAfterMs: 100 });
    const health = async () => {
      const response = await fetch(`${service.url}/healthz`);
      return { status: response.status, body: await response.json() };
    };
    try {
      assert.deepEqual(await health(), {
        status: 200,
        body: { status: "ok", input: "waiting", batches: 0 },
      });
      service.recordRows({ read: 3, rejected: 0 });
      assert.equal((await health()).body.input, "flowing");
      await sleep(150);
      assert.deepEqual((await health()).body, { status: "ok", input: "idle", batches: 0 });
      service.endInput();
      assert.equal((await health()).status, 200);
      service.failInput(
        new Error('Cannot read standard input as it must be UTF-8: current value is "\\xff"'),
      );
      const failed = await health();
      assert.equal(failed.status, 503);
      assert.deepEqual(failed.body, {
        status: "failed",
        input: "failed",
        batches: 0,
        error: 'Cannot read standard input as it must be UTF-8: current value is "\\xff"',
      });
      const m = await scrape(service);
      assert.deepEqual(
        samplesOf(m, "batch_corr_input_state").filter((s) => s.value === 1).map((s) =>
          s.labels.state
        ),
        ["failed"],
      );
    } finally {
      await service.close();
    }
  });

  test("answers 404 for other paths and 405 for other methods", async () => {
    const service = await startFor(new RunState(RUN));
    try {
      const missing = await fetch(`${service.url}/nope`);
      assert.equal(missing.status, 404);
      assert.match(await missing.text(), /serves \/, \/events, \/metrics and \/healthz/);
      const post = await fetch(`${service.url}/metrics`, { method: "POST", body: "x" });
      assert.equal(post.status, 405);
      assert.equal(post.headers.get("allow"), "GET, HEAD");
      await post.body?.cancel();
      const head = await fetch(`${service.url}/metrics`, { method: "HEAD" });
      assert.equal(head.status, 200);
    } finally {
      await service.close();
    }
  });

  test(
    "serves the live page with a strict CSP and pushes reports whose points grow with the batches",
    { timeout: 30_000 },
    async () => {
      const state = new RunState(RUN);
      const service = await startFor(state, { live: { minIntervalMs: 20, heartbeatMs: 0 } });
      try {
        const page = await fetch(`${service.url}/`);
        assert.equal(page.headers.get("content-security-policy"), LIVE_PAGE_CSP);
        assert.match(LIVE_PAGE_CSP, /script-src 'sha256-[A-Za-z0-9+/]+=*'/);
        const html = await page.text();
        assert.equal(html.match(/<script/g)?.length, 1);
        assert.doesNotMatch(html, /<script src|<link|<drift>/);
        assert.match(html, /synthetic &#60;drift&#62; &#38; co/);
        const statuses: string[] = [];
        const reading = readReportEvents(
          service.url,
          (points) => points.at(-1) === RUN.batches,
          statuses,
        );
        await waitFor(() => service.liveStats().clients === 1, "the page to connect");
        for await (const { result, alert } of state.results()) {
          service.recordBatch(result, { alert });
          await sleep(15);
        }
        const points = await reading;
        assert.ok(points.length >= 3, `${points.length} updates`);
        for (let i = 1; i < points.length; i++) {
          assert.ok(points[i]! >= points[i - 1]!, `points went down: ${points}`);
        }
        assert.equal(points.at(-1), RUN.batches);
        assert.ok(statuses.includes("flowing"), statuses.join(","));
      } finally {
        await service.close();
      }
    },
  );

  test("drops a live client that never reads while batches keep coming, with memory bounded", {
    timeout: 60_000,
  }, async () => {
    // Heavy pages (256 KiB each) that keep coming until the client is dropped.
    const state = new RunState(
      { ...RUN, batches: 20_000, driftBatch: 10_000, batchSize: 8 },
      256 * 1024,
    );
    const maxQueuedBytes = 1 << 20;
    const service = await startFor(state, {
      live: { minIntervalMs: 0, heartbeatMs: 0, stallTimeoutMs: 300, maxQueuedBytes },
    });
    const socket = await neverReadingClient(service.address.port, "/events");
    try {
      await waitFor(() => service.liveStats().clients === 1, "the client to connect");
      const before = process.memoryUsage().rss;
      let peak = before;
      const deadline = Date.now() + 20_000;
      for await (const { result, alert } of state.results()) {
        service.recordBatch(result, { alert });
        if (result.index % 10 === 0) {
          await sleep(2);
          peak = Math.max(peak, process.memoryUsage().rss);
          if (service.liveStats().dropped > 0 || Date.now() > deadline) break;
        }
      }
      const stats = service.liveStats();
      assert.equal(stats.dropped, 1, JSON.stringify(stats));
      assert.equal(stats.clients, 0);
      // Keyed updates replace each other: one page, however far behind.
      assert.ok(stats.peakClientQueuedBytes <= 2 * maxQueuedBytes, JSON.stringify(stats));
      // A sanity bound only: each 256 KiB page leaves about 1 MiB of garbage
      // that the collector takes in its own time; the queue bound above is
      // the service's own accounting (the channel test bounds memory tightly).
      assert.ok(
        (peak - before) / (1 << 20) < 256,
        `resident memory grew by ${((peak - before) / (1 << 20)).toFixed(0)} MiB`,
      );
      const m = await scrape(service);
      assert.equal(valueOf(m, "batch_corr_live_clients_dropped_total"), 1);
    } finally {
      socket.destroy();
      const started = Date.now();
      await service.close();
      assert.ok(Date.now() - started < 5_000, "the service closed promptly");
    }
  });

  test("close() ends open live pages with an end event", async () => {
    const service = await startFor(new RunState(RUN), { live: { heartbeatMs: 0 } });
    const response = await fetch(`${service.url}/events`);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await waitFor(() => service.liveStats().clients === 1, "the page to connect");
    await sleep(50);
    const closing = service.close();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    await closing;
    assert.match(text, /event: end\ndata: \n\n$/);
  });

  test("a port in use and a host that is not an address are clear errors", async () => {
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const port = (other.address() as net.AddressInfo).port;
    const state = new RunState(RUN);
    const options = {
      features: state.features,
      confounds: state.confounds,
      report: () => state.report(),
    };
    try {
      await assert.rejects(
        async () => await startMonitorService({ ...options, listen: `127.0.0.1:${port}` }),
        (error: unknown) =>
          error instanceof ServiceError && error.code === "address_in_use" &&
          error.message.includes(`127.0.0.1:${port}`),
      );
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
    await assert.rejects(
      startMonitorService({ ...options, listen: "not a host:9464" }),
      /must be an IPv4 address, a bracketed IPv6 address or a host name/,
    );
    await assert.rejects(
      startMonitorService({ ...options, listen: { host: "not a host", port: 1 } }),
      RangeError,
    );
    await assert.rejects(
      startMonitorService({ ...options, listen: 9464 as unknown as string }),
      TypeError,
    );
    await assert.rejects(
      startMonitorService({ ...options, listen: ":0", report: "page" as never }),
      /options\.report must be a function/,
    );
    await assert.rejects(
      async () => await startMonitorService({ ...options, listen: "192.0.2.1:0" }),
      (error: unknown) => error instanceof ServiceError && error.code === "address_unavailable",
    );
  });

  test("serveFor() waits the time given, or until its signal aborts", async () => {
    const service = await startFor(new RunState(RUN));
    try {
      let started = Date.now();
      await service.serveFor(120);
      assert.ok(Date.now() - started >= 100);
      const controller = new AbortController();
      started = Date.now();
      setTimeout(() => controller.abort(), 30);
      await service.serveFor(60_000, controller.signal);
      assert.ok(Date.now() - started < 5_000);
      assert.throws(() => service.serveFor(-1), RangeError);
    } finally {
      await service.close();
    }
  });
});
