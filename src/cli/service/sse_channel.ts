/**
 * Server-Sent Events to any number of browsers, with a bounded queue per
 * client: a client that stops reading is dropped instead of growing memory.
 *
 * @module
 */

/** Options of {@linkcode SseChannel}. */
export interface SseChannelOptions {
  /**
   * The most clients connected at once; further ones get 503.
   * @default {16}
   */
  maxClients?: number;
  /**
   * The most encoded bytes waiting for one client. When a new event would
   * pass it the client is dropped, unless the event is the only one waiting
   * (a single large snapshot still reaches a healthy client).
   * @default {8388608} (8 MiB)
   */
  maxQueuedBytes?: number;
  /**
   * A client that has had events waiting and taken none for this long is
   * dropped: it is not reading.
   * @default {30000}
   */
  stallTimeoutMs?: number;
  /**
   * How often a comment line is sent to keep idle connections open; 0 sends none.
   * @default {15000}
   */
  heartbeatMs?: number;
  /**
   * The reconnection delay suggested to browsers (`retry:`).
   * @default {2000}
   */
  retryMs?: number;
}

/** Options of {@linkcode SseChannel.publish}. */
export interface SsePublishOptions {
  /**
   * Events with the same key replace each other while they wait: a client
   * that falls behind gets the latest snapshot, not every one.
   * @default {undefined} (every event is kept)
   */
  key?: string;
}

/** Counters of {@linkcode SseChannel.stats}. */
export interface SseChannelStats {
  /** Clients connected now. */
  clients: number;
  /** Clients connected since the start. */
  connected: number;
  /** Clients dropped for not reading (a full queue or a stall). */
  dropped: number;
  /** Connections refused because `maxClients` were connected. */
  refused: number;
  /** Bytes waiting, over all clients. */
  queuedBytes: number;
  /** The most bytes that ever waited for one client. */
  peakClientQueuedBytes: number;
  /** Why the latest dropped client was dropped. */
  lastDropReason: string | undefined;
}

interface Pending {
  key: string | undefined;
  bytes: Uint8Array;
}

interface Client {
  controller: ReadableStreamDefaultController<Uint8Array>;
  queue: Pending[];
  queuedBytes: number;
  /** Resolves the stream's pending pull: the runtime is ready for more. */
  wake: (() => void) | undefined;
  /** Since when events have waited with nothing taken. */
  blockedSince: number | undefined;
  /** The channel is closing: end the stream once the queue is empty. */
  ending: boolean;
}

const encoder = new TextEncoder();
const EVENT_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

function positiveInteger(value: unknown, name: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot create SseChannel as options.${name} must be a number: current value is ${typeof value}`,
    );
  }
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(
      `Cannot create SseChannel as options.${name} must be an integer of at least ${min}: current value is ${value}`,
    );
  }
  return value;
}

/**
 * Encodes one event in the `text/event-stream` format: each line of `data`
 * (split on CR, LF or CRLF, as browsers split them) becomes a `data:` line.
 *
 * @param event The event name (letters, digits, `_` and `-`).
 * @param data The payload.
 * @returns The encoded event, ending with a blank line.
 * @throws {RangeError} If the event name is not a plain token.
 *
 * @example Two lines of data
 * ```ts
 * import { encodeSseEvent } from "./sse_channel.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(encodeSseEvent("report", "a\nb"), "event: report\ndata: a\ndata: b\n\n");
 * ```
 */
export function encodeSseEvent(event: string, data: string): string {
  if (!EVENT_NAME.test(event)) {
    throw new RangeError(
      `Cannot encode the event as its name must be a letter then letters, digits, "_" or "-": current value is ${
        JSON.stringify(event)
      }`,
    );
  }
  return `event: ${event}\n${data.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join("")}\n`;
}

/**
 * A set of Server-Sent Events connections. Each client has its own queue:
 * the runtime takes the next event only when the socket can take it, so a
 * client that does not read leaves its events waiting here, bounded by
 * `maxQueuedBytes` and `stallTimeoutMs`, after which it is dropped (its
 * connection is aborted). Events published with a `key` replace a waiting
 * event with the same key, so slow clients skip to the latest snapshot.
 *
 * @example Publishing to one client
 * ```ts
 * import { SseChannel } from "./sse_channel.ts";
 * import assert from "node:assert/strict";
 *
 * const channel = new SseChannel({ heartbeatMs: 0 });
 * const response = channel.connect();
 * channel.publish("status", "ready");
 * const reader = response.body!.getReader();
 * let text = "";
 * while (!text.includes("ready")) text += new TextDecoder().decode((await reader.read()).value);
 * assert.match(text, /event: status\ndata: ready\n\n/);
 * await channel.close();
 * ```
 */
export class SseChannel {
  readonly #clients = new Set<Client>();
  readonly #maxClients: number;
  readonly #maxQueuedBytes: number;
  readonly #stallTimeoutMs: number;
  readonly #retryMs: number;
  readonly #timers: ReturnType<typeof setInterval>[] = [];
  #closing: Promise<void> | undefined;
  #stats: Omit<SseChannelStats, "clients" | "queuedBytes"> = {
    connected: 0,
    dropped: 0,
    refused: 0,
    peakClientQueuedBytes: 0,
    lastDropReason: undefined,
  };

  /**
   * Creates the channel and its sweeper (and heartbeat) timers; `close()`
   * stops them.
   *
   * @param options Limits per client and timings.
   * @throws {TypeError} If an option is not a number.
   * @throws {RangeError} If an option is not an integer in range.
   */
  constructor(options: SseChannelOptions = {}) {
    this.#maxClients = positiveInteger(options.maxClients, "maxClients", 16, 1);
    this.#maxQueuedBytes = positiveInteger(options.maxQueuedBytes, "maxQueuedBytes", 8 << 20, 1);
    this.#stallTimeoutMs = positiveInteger(options.stallTimeoutMs, "stallTimeoutMs", 30_000, 1);
    this.#retryMs = positiveInteger(options.retryMs, "retryMs", 2000, 0);
    const heartbeatMs = positiveInteger(options.heartbeatMs, "heartbeatMs", 15_000, 0);
    const sweepMs = Math.max(10, Math.min(1000, Math.floor(this.#stallTimeoutMs / 4)));
    this.#timers.push(setInterval(() => this.#sweep(), sweepMs));
    if (heartbeatMs > 0) {
      this.#timers.push(
        setInterval(() => this.#broadcast(encoder.encode(": ping\n\n"), "heartbeat"), heartbeatMs),
      );
    }
  }

  /**
   * Opens a connection: a `text/event-stream` response whose body carries
   * every event published from now on.
   *
   * @returns The response (503 when `maxClients` are connected or the channel is closed).
   */
  connect(): Response {
    if (this.#closing || this.#clients.size >= this.#maxClients) {
      this.#stats.refused++;
      return new Response(
        this.#closing ? "the service is stopping\n" : "too many live clients\n",
        {
          status: 503,
          headers: { "content-type": "text/plain; charset=utf-8", "retry-after": "5" },
        },
      );
    }
    let client: Client | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        client = {
          controller,
          queue: [],
          queuedBytes: 0,
          wake: undefined,
          blockedSince: undefined,
          ending: false,
        };
        this.#clients.add(client);
        this.#stats.connected++;
        this.#enqueue(client, encoder.encode(`retry: ${this.#retryMs}\n\n`), undefined);
      },
      pull: () => this.#pull(client!),
      cancel: () => {
        this.#forget(client!);
      },
    }, { highWaterMark: 0 });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /**
   * Sends an event to every connected client.
   *
   * @param event The event name (letters, digits, `_` and `-`).
   * @param data The payload (any text; lines become `data:` lines).
   * @param options A `key` under which waiting events replace each other.
   * @throws {RangeError} If the event name is not a plain token.
   */
  publish(event: string, data: string, options: SsePublishOptions = {}): void {
    const bytes = encoder.encode(encodeSseEvent(event, data));
    this.#broadcast(bytes, options.key);
  }

  /** Counters: clients now, connected, dropped, refused, bytes waiting. */
  get stats(): SseChannelStats {
    let queuedBytes = 0;
    for (const client of this.#clients) queuedBytes += client.queuedBytes;
    return { clients: this.#clients.size, queuedBytes, ...this.#stats };
  }

  /**
   * Ends every connection and stops the timers. Each client gets
   * `finalEvent` after what it still has waiting, then a clean end of
   * stream; clients that have not taken it all within `graceMs` are aborted,
   * so that a client that does not read cannot hold the server's shutdown.
   * Idempotent.
   *
   * @param finalEvent An event to send last.
   * @param graceMs How long reading clients get to take their last events.
   * @returns When every connection is ended.
   */
  close(finalEvent?: { event: string; data: string }, graceMs = 1000): Promise<void> {
    if (this.#closing) return this.#closing;
    for (const timer of this.#timers) clearInterval(timer);
    const final = finalEvent
      ? encoder.encode(encodeSseEvent(finalEvent.event, finalEvent.data))
      : undefined;
    for (const client of [...this.#clients]) {
      if (final) this.#enqueue(client, final, undefined);
      client.ending = true;
      if (client.queue.length === 0 && client.wake) this.#end(client);
    }
    this.#closing = this.#drain(graceMs);
    return this.#closing;
  }

  async #drain(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.#clients.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const client of [...this.#clients]) this.#abort(client, "the service is stopping");
  }

  /** Ends a client's stream cleanly, after what it was given. */
  #end(client: Client): void {
    try {
      client.controller.close();
    } catch {
      // Already cancelled by the runtime.
    }
    this.#forget(client);
  }

  #broadcast(bytes: Uint8Array, key: string | undefined): void {
    for (const client of [...this.#clients]) this.#enqueue(client, bytes, key);
  }

  #enqueue(client: Client, bytes: Uint8Array, key: string | undefined): void {
    if (client.wake && client.queue.length === 0) {
      this.#deliver(client, bytes);
      return;
    }
    const waiting = key === undefined ? -1 : client.queue.findIndex((item) => item.key === key);
    if (waiting !== -1) {
      client.queuedBytes += bytes.byteLength - client.queue[waiting]!.bytes.byteLength;
      client.queue[waiting] = { key, bytes };
    } else {
      client.queue.push({ key, bytes });
      client.queuedBytes += bytes.byteLength;
    }
    client.blockedSince ??= Date.now();
    this.#stats.peakClientQueuedBytes = Math.max(
      this.#stats.peakClientQueuedBytes,
      client.queuedBytes,
    );
    if (client.queuedBytes > this.#maxQueuedBytes && client.queue.length > 1) {
      this.#abort(client, `more than ${this.#maxQueuedBytes} bytes waiting`);
    }
  }

  #deliver(client: Client, bytes: Uint8Array): void {
    const wake = client.wake!;
    client.wake = undefined;
    try {
      client.controller.enqueue(bytes);
    } catch {
      this.#forget(client);
    }
    wake();
  }

  #pull(client: Client): Promise<void> | void {
    const next = client.queue.shift();
    if (next) {
      client.queuedBytes -= next.bytes.byteLength;
      client.blockedSince = client.queue.length === 0 ? undefined : Date.now();
      client.controller.enqueue(next.bytes);
      if (client.queue.length === 0 && client.ending) this.#end(client);
      return;
    }
    client.blockedSince = undefined;
    if (client.ending) return this.#end(client);
    return new Promise((resolve) => (client.wake = resolve));
  }

  #sweep(): void {
    const now = Date.now();
    for (const client of [...this.#clients]) {
      if (client.blockedSince !== undefined && now - client.blockedSince > this.#stallTimeoutMs) {
        this.#abort(client, `took nothing for ${this.#stallTimeoutMs} ms`);
      }
    }
  }

  /** Drops a client that is not reading: its connection is aborted, its queue freed. */
  #abort(client: Client, reason: string): void {
    if (!this.#clients.has(client)) return;
    this.#stats.dropped++;
    this.#forget(client);
    this.#stats.lastDropReason = reason;
    try {
      // Erroring the body aborts the connection in both runtimes; with no
      // reason given, Bun does not print the error on stderr for each drop.
      client.controller.error(undefined);
    } catch {
      // Already closed.
    }
  }

  #forget(client: Client): void {
    this.#clients.delete(client);
    client.queue = [];
    client.queuedBytes = 0;
    client.blockedSince = undefined;
    const wake = client.wake;
    client.wake = undefined;
    wake?.();
  }
}
