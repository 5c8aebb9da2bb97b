import { describe, test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { listenHttp } from "../../../src/cli/service/http_listener.ts";
import {
  encodeSseEvent,
  SseChannel,
  type SseChannelOptions,
} from "../../../src/cli/service/sse_channel.ts";
import { neverReadingClient, sleep, waitFor } from "./_support.ts";

const MiB = 1 << 20;

/** A channel behind a real HTTP listener on a free loopback port. */
function serveChannel(options: SseChannelOptions) {
  const channel = new SseChannel({ heartbeatMs: 0, ...options });
  const listener = listenHttp(() => channel.connect(), { host: "127.0.0.1", port: 0 });
  return {
    channel,
    listener,
    async close() {
      await channel.close();
      await listener.close();
    },
  };
}

/** Reads an event stream, collecting the events' names and data. */
async function readEvents(
  url: string,
  until: (events: { event: string; data: string }[]) => boolean,
) {
  const response = await fetch(url);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: string }[] = [];
  let buffer = "";
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      if (event !== undefined) {
        const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6))
          .join("\n");
        events.push({ event, data });
      }
      end = buffer.indexOf("\n\n");
    }
  }
  await reader.cancel();
  return events;
}

describe("SseChannel", () => {
  test("encodes each line of data as a data line, whatever the line ends", () => {
    assert.equal(
      encodeSseEvent("x", "a\r\nb\rc\nd"),
      "event: x\ndata: a\ndata: b\ndata: c\ndata: d\n\n",
    );
    assert.equal(encodeSseEvent("x", ""), "event: x\ndata: \n\n");
    assert.throws(() => encodeSseEvent("bad\nname", "x"), RangeError);
  });

  test("delivers every event in order to a client that reads", async () => {
    const served = serveChannel({});
    try {
      const reading = readEvents(served.listener.url, (events) => events.length === 50);
      await waitFor(() => served.channel.stats.clients === 1, "the client to connect");
      for (let i = 0; i < 50; i++) served.channel.publish("n", `${i}\nline two`);
      const events = await reading;
      assert.deepEqual(
        events.map((e) => e.data),
        Array.from({ length: 50 }, (_, i) => `${i}\nline two`),
      );
    } finally {
      await served.close();
    }
  });

  test("drops a client that never reads once its queue is full, and memory stays flat", {
    timeout: 60_000,
  }, async () => {
    const maxQueuedBytes = 2 * MiB;
    const served = serveChannel({ maxQueuedBytes, stallTimeoutMs: 60_000 });
    const socket = await neverReadingClient(served.listener.port, "/");
    try {
      await waitFor(() => served.channel.stats.clients === 1, "the client to connect");
      const chunk = "x".repeat(64 * 1024);
      // Bun's collector lets garbage (each publish encodes its chunk) pile up for longer after
      // other test files ran in the same process; collecting before each reading measures what
      // is held, not how lazy the collector is. Deno's V8 needs no help here.
      const collect = () => (globalThis as { Bun?: { gc(force: boolean): void } }).Bun?.gc(true);
      collect();
      const before = process.memoryUsage().rss;
      let peak = before;
      // 256 MiB published: without a bound, all of it would wait in memory.
      for (let i = 0; i < 4096; i++) {
        served.channel.publish("blob", chunk);
        if (i % 64 === 0) {
          await sleep(0);
          collect();
          peak = Math.max(peak, process.memoryUsage().rss);
        }
      }
      const stats = served.channel.stats;
      assert.equal(stats.dropped, 1, JSON.stringify(stats));
      assert.equal(stats.clients, 0);
      assert.equal(stats.lastDropReason, `more than ${maxQueuedBytes} bytes waiting`);
      assert.ok(stats.peakClientQueuedBytes <= maxQueuedBytes + 70_000, JSON.stringify(stats));
      const growth = (peak - before) / MiB;
      assert.ok(growth < 128, `resident memory grew by ${growth.toFixed(0)} MiB`);
      // The connection is aborted: the client sees its end.
      socket.resume();
      await waitFor(
        () => socket.destroyed || socket.readableEnded,
        "the dropped connection to close",
        10_000,
      );
    } finally {
      socket.destroy();
      await served.close();
    }
  });

  test("drops a client that has taken nothing for stallTimeoutMs, even with a small queue", async () => {
    const served = serveChannel({ stallTimeoutMs: 200 });
    const socket = await neverReadingClient(served.listener.port, "/");
    try {
      await waitFor(() => served.channel.stats.clients === 1, "the client to connect");
      // Enough to fill the socket buffers, so that events wait here.
      for (let i = 0; i < 200 && served.channel.stats.queuedBytes === 0; i++) {
        served.channel.publish("blob", "y".repeat(256 * 1024), { key: "snapshot" });
        await sleep(5);
      }
      assert.ok(served.channel.stats.queuedBytes > 0, "events wait for the stalled client");
      assert.ok(
        served.channel.stats.queuedBytes <= 256 * 1024 + 100,
        "keyed events replace each other",
      );
      await waitFor(
        () => served.channel.stats.dropped === 1,
        "the stalled client to be dropped",
        5_000,
      );
      assert.equal(served.channel.stats.lastDropReason, "took nothing for 200 ms");
      assert.equal(served.channel.stats.clients, 0);
    } finally {
      socket.destroy();
      await served.close();
    }
  });

  test("gives a client that falls behind the latest keyed snapshot, not every one", async () => {
    const channel = new SseChannel({ heartbeatMs: 0 });
    try {
      const response = channel.connect();
      for (let i = 0; i < 100; i++) channel.publish("report", `snapshot ${i}`, { key: "report" });
      channel.publish("status", "last");
      assert.equal(channel.stats.dropped, 0);
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("data: last")) text += (await reader.read()).value;
      assert.deepEqual([...text.matchAll(/data: (snapshot \d+)/g)].map((m) => m[1]), [
        "snapshot 99",
      ]);
      await reader.cancel();
      assert.equal(channel.stats.clients, 0, "a cancelled stream leaves the channel");
    } finally {
      await channel.close();
    }
  });

  test("refuses clients beyond maxClients with 503 and after close", async () => {
    const channel = new SseChannel({ heartbeatMs: 0, maxClients: 2 });
    const open = [channel.connect(), channel.connect()];
    const third = channel.connect();
    assert.equal(third.status, 503);
    assert.equal(await third.text(), "too many live clients\n");
    assert.equal(channel.stats.refused, 1);
    const closing = channel.close(undefined, 100);
    assert.equal(channel.connect().status, 503);
    for (const response of open) await response.body?.cancel().catch(() => {});
    await closing;
  });

  test(
    "close() ends a reading client's stream with the final event and does not hang on a stalled one",
    { timeout: 30_000 },
    async () => {
      const served = serveChannel({});
      const socket = await neverReadingClient(served.listener.port, "/");
      try {
        const reading = readEvents(served.listener.url, () => false);
        await waitFor(() => served.channel.stats.clients === 2, "both clients to connect");
        for (let i = 0; i < 64; i++) {
          served.channel.publish("blob", "z".repeat(128 * 1024), {
            key: "snapshot",
          });
        }
        await sleep(100);
        const closing = served.channel.close({ event: "end", data: "bye" }, 2000);
        const events = await reading;
        await closing;
        assert.equal(
          served.channel.stats.clients,
          0,
          "every connection ended, the stalled one aborted if it still had events waiting",
        );
        assert.deepEqual(events.at(-1), { event: "end", data: "bye" });
        const started = Date.now();
        await served.listener.close();
        assert.ok(Date.now() - started < 5_000, "the listener closed promptly");
      } finally {
        socket.destroy();
        await served.close();
      }
    },
  );

  test("refuses bad options", () => {
    assert.throws(
      () => new SseChannel({ maxQueuedBytes: 0 }),
      /options\.maxQueuedBytes must be an integer of at least 1: current value is 0/,
    );
    assert.throws(() => new SseChannel({ stallTimeoutMs: "1" as unknown as number }), TypeError);
  });
});
