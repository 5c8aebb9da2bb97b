/**
 * A small HTTP listener over the runtime's own server (`Deno.serve` or
 * `Bun.serve`), both driven by one fetch-style handler, with the bind
 * failures turned into {@linkcode ServiceError}s.
 *
 * @module
 */

import { formatListenAddress, type ListenAddress } from "./listen_address.ts";
import { ServiceError, type ServiceErrorCode } from "./service_error.ts";

/** Answers one request. */
export type RequestHandler = (request: Request) => Response | Promise<Response>;

/** A server that is listening. */
export interface HttpListener {
  /** The host it listens on, as given. */
  readonly host: string;
  /** The port it listens on (the one chosen by the system when 0 was asked). */
  readonly port: number;
  /** `http://host:port`, with a bracketed IPv6 host. */
  readonly url: string;
  /**
   * Stops listening and ends open connections; resolves when done. Streaming
   * responses should be ended first (Deno waits for them to finish).
   */
  close(): Promise<void>;
}

interface DenoServer {
  addr: { port: number };
  shutdown(): Promise<void>;
}
interface DenoLike {
  serve(
    options: {
      hostname: string;
      port: number;
      onListen: () => void;
      onError: (error: unknown) => Response;
    },
    handler: (request: Request) => Response | Promise<Response>,
  ): DenoServer;
}
interface BunServer {
  port: number;
  stop(closeActive?: boolean): void | Promise<void>;
}
interface BunLike {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    fetch: (request: Request) => Response | Promise<Response>;
    error: (error: unknown) => Response;
  }): BunServer;
}

const CONTEXT = "listen for metrics";

function internalError(): Response {
  return new Response("internal error\n", {
    status: 500,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

function guarded(handler: RequestHandler): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      return await handler(request);
    } catch {
      return internalError();
    }
  };
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const name = (error as { name?: unknown }).name;
  if (name === "AddrInUse") return "EADDRINUSE";
  if (name === "AddrNotAvailable") return "EADDRNOTAVAIL";
  if (name === "PermissionDenied") return "EACCES";
  return undefined;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Turns a bind failure of either runtime into a ServiceError that names the
 * address, the rule and what was seen.
 */
function bindError(error: unknown, address: ListenAddress): ServiceError {
  const where = formatListenAddress(address);
  const code = errorCode(error);
  const reason = reasonOf(error);
  const details = { host: address.host, port: address.port, systemCode: code };
  let kind: ServiceErrorCode;
  let message: string;
  if (code === "EADDRINUSE") {
    kind = "address_in_use";
    message =
      `Cannot ${CONTEXT} on ${where} as the port must be free: current value ${address.port} is in use by another process (${reason})`;
  } else if (
    code === "EADDRNOTAVAIL" || code === "ENOTFOUND" || code === "EINVAL" ||
    /lookup|resolve|invalid host/i.test(reason)
  ) {
    kind = "address_unavailable";
    message =
      `Cannot ${CONTEXT} on ${where} as the host must be an address of this machine: current value "${address.host}" is not (${reason})`;
  } else if (code === "EACCES" || code === "EPERM") {
    kind = "permission_denied";
    message =
      `Cannot ${CONTEXT} on ${where} as the port must be one this process may open (ports below 1024 need privileges): current value is ${address.port} (${reason})`;
  } else {
    kind = "listen_failed";
    message =
      `Cannot ${CONTEXT} on ${where} as the server must start: current attempt failed (${reason})`;
  }
  return new ServiceError(kind, message, { cause: error, details });
}

function listenDeno(deno: DenoLike, handler: RequestHandler, address: ListenAddress): HttpListener {
  const server = deno.serve({
    hostname: address.host,
    port: address.port,
    onListen: () => {},
    onError: () => internalError(),
  }, guarded(handler));
  const port = server.addr.port;
  return describeListener(address.host, port, () => server.shutdown());
}

function listenBun(bun: BunLike, handler: RequestHandler, address: ListenAddress): HttpListener {
  const server = bun.serve({
    hostname: address.host,
    port: address.port,
    // Bun closes connections idle for 10 s by default, which would cut live
    // pages between batches; slow or silent clients are dropped by the
    // event channel instead.
    idleTimeout: 0,
    fetch: guarded(handler),
    error: () => internalError(),
  });
  return describeListener(address.host, server.port, async () => {
    await server.stop(true);
  });
}

function describeListener(host: string, port: number, stop: () => Promise<void>): HttpListener {
  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    url: `http://${formatListenAddress({ host, port })}`,
    close: () => (closing ??= stop()),
  };
}

/**
 * Starts an HTTP server on `address` with the runtime's own server:
 * `Deno.serve` under Deno, `Bun.serve` under Bun. Returns once it listens.
 * A handler that throws answers 500 without details.
 *
 * @param handler Answers each request.
 * @param address Where to listen (port 0: a free port, read back from `port`).
 * @returns The listener.
 * @throws {ServiceError} `address_in_use` when the port is taken,
 * `address_unavailable` when the host is not an address of this machine,
 * `permission_denied` for a privileged port, `listen_failed` otherwise,
 * `unsupported_runtime` outside Deno and Bun.
 *
 * @example Serving one route on a free port
 * ```ts
 * import { listenHttp } from "./http_listener.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = listenHttp(() => new Response("ok"), { host: "127.0.0.1", port: 0 });
 * try {
 *   const response = await fetch(`${listener.url}/`);
 *   assert.equal(await response.text(), "ok");
 * } finally {
 *   await listener.close();
 * }
 * ```
 */
export function listenHttp(handler: RequestHandler, address: ListenAddress): HttpListener {
  const runtime = globalThis as { Bun?: BunLike; Deno?: DenoLike };
  try {
    if (runtime.Bun?.serve) return listenBun(runtime.Bun, handler, address);
    if (runtime.Deno?.serve) return listenDeno(runtime.Deno, handler, address);
  } catch (error) {
    throw bindError(error, address);
  }
  throw new ServiceError(
    "unsupported_runtime",
    `Cannot ${CONTEXT} as the runtime must be Deno or Bun: current runtime has neither Deno.serve nor Bun.serve`,
  );
}
