/**
 * The Redis connection: ioredis, loaded only when a Redis role runs, with an
 * error naming the package when it is missing; URL checks; Lua scripts run by
 * SHA with a fallback to EVAL after a server restart.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { ruleMessage } from "../core/errors.ts";
import { loadOptionalPackage, type OptionalPackage } from "../core/optional_package.ts";

/** A value sent to Redis. */
export type RedisArgument = string | number | Uint8Array;

/**
 * The part of an ioredis client these functions use. Pass your own `Redis`
 * instance, or a `redis://host:port` URL and the function opens (and closes)
 * its own connection.
 */
export interface RedisClientLike {
  /** Sends a command; bulk replies come back as Buffers. */
  callBuffer(command: string, ...args: (string | number | Buffer)[]): Promise<unknown>;
  /** Closes the connection after pending replies. */
  quit(): Promise<unknown>;
}

/** What the Redis roles accept as a connection. */
export type RedisConnection = string | RedisClientLike;

type IoredisModule = {
  Redis: new (url: string, options: Record<string, unknown>) => IoredisClient;
};
type IoredisClient = RedisClientLike & {
  status: string;
  connect(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
  disconnect(): void;
};

/** Loads the optional peer dependency `ioredis`. */
export type IoredisImporter = () => Promise<unknown>;

const defaultImporter: IoredisImporter = () => import("ioredis");

let importer: IoredisImporter = defaultImporter;

/**
 * Replaces how ioredis is imported (tests simulate a missing package with it).
 *
 * @param replacement The importer, or undefined for the real `import("ioredis")`.
 */
export function setIoredisImporter(replacement: IoredisImporter | undefined): void {
  importer = replacement ?? defaultImporter;
}

/** The package the Redis roles need (the range of package.json's peerDependencies). */
export const IOREDIS: OptionalPackage = {
  name: "ioredis",
  range: "^6.0.0",
  feature: "connect to Redis",
};

function redisClassOf(module: unknown): unknown {
  return (module as { Redis?: unknown })?.Redis ?? (module as { default?: unknown })?.default;
}

/**
 * Imports ioredis.
 *
 * @throws {BatchCorrError} "peer_missing" naming the package and the commands that install it.
 */
export async function loadIoredis(): Promise<IoredisModule> {
  const module = await loadOptionalPackage(
    IOREDIS,
    importer,
    (m) => typeof redisClassOf(m) === "function" ? undefined : "the Redis class",
  );
  return { Redis: redisClassOf(module) as IoredisModule["Redis"] };
}

/**
 * Checks a `redis://host:port` URL.
 *
 * @throws {TypeError} If it is not a string or not a redis:// or rediss:// URL.
 */
export function checkRedisUrl(url: unknown, context: string, name = "options.redis"): string {
  const rule = 'a "redis://host:port" URL (or "rediss://" for TLS) or an ioredis client';
  if (typeof url !== "string") throw new TypeError(ruleMessage(context, name, rule, url));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(ruleMessage(context, name, rule, url));
  }
  if ((parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") || parsed.hostname === "") {
    throw new TypeError(ruleMessage(context, name, rule, url));
  }
  return url;
}

/** An open connection and how to release it. */
export interface OpenedRedis {
  client: RedisClientLike;
  /** The server, for messages (the URL, or "the given Redis client"). */
  server: string;
  /** Closes the connection if this module opened it. */
  close(): Promise<void>;
}

/**
 * Opens a connection from a URL (RESP2, reconnecting, every error reported
 * through the command that failed), or wraps a given client.
 *
 * @throws {TypeError} For a malformed URL or client.
 * @throws {BatchCorrError} "peer_missing" when ioredis is not installed.
 */
export async function openRedis(
  connection: RedisConnection,
  context: string,
  name = "options.redis",
): Promise<OpenedRedis> {
  if (typeof connection === "object" && connection !== null) {
    if (typeof connection.callBuffer !== "function") {
      throw new TypeError(
        ruleMessage(
          context,
          name,
          "a redis:// URL or an ioredis client (with callBuffer)",
          connection,
        ),
      );
    }
    return { client: connection, server: "the given Redis client", close: () => Promise.resolve() };
  }
  const url = checkRedisUrl(connection, context, name);
  const { Redis } = await loadIoredis();
  const client = new Redis(url, {
    protocol: 2,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
  }) as IoredisClient;
  // Errors reach the caller through the failed command; the event would only print them.
  client.on("error", () => {});
  return {
    client,
    server: redactedUrl(url),
    close: async () => {
      // A client that never connected would connect just to say QUIT.
      if (client.status === "wait" || client.status === "end") return client.disconnect();
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

function redactedUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = "***";
  return parsed.toString().replace(/\/$/, "");
}

/** A Lua script and its SHA1. */
export interface LuaScript {
  source: string;
  sha: string;
}

/** Prepares a Lua script. */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash("sha1").update(source).digest("hex") };
}

/** Converts arguments for ioredis (a Uint8Array that is not a Buffer would be sent as text). */
export function toRedisArgs(args: readonly RedisArgument[]): (string | number | Buffer)[] {
  return args.map((arg) =>
    typeof arg === "string" || typeof arg === "number"
      ? arg
      : Buffer.isBuffer(arg)
      ? arg
      : Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength)
  );
}

/** Runs a script by SHA, loading it with EVAL when the server does not know it. */
export async function evalScript(
  client: RedisClientLike,
  script: LuaScript,
  keys: readonly string[],
  args: readonly RedisArgument[],
): Promise<unknown> {
  const rest = [keys.length, ...keys, ...toRedisArgs(args)];
  try {
    return await client.callBuffer("EVALSHA", script.sha, ...rest);
  } catch (error) {
    if (!String((error as Error)?.message ?? "").includes("NOSCRIPT")) throw error;
    return await client.callBuffer("EVAL", script.source, ...rest);
  }
}

/** A reply element as text. */
export function text(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (value instanceof Uint8Array) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
  }
  return String(value);
}

/** A reply element as bytes (a copy that owns its buffer). */
export function bytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === "string") return new TextEncoder().encode(value);
  return new Uint8Array(0);
}

/**
 * A reply element as bytes without copying: ioredis hands each bulk reply
 * out as a slice of a chunk (or a concatenation) that it never reuses, so a
 * view over it stays valid.
 */
export function bytesView(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  return bytes(value);
}

/** A reply element as a number (0 for nil). */
export function int(value: unknown): number {
  const parsed = Number(text(value));
  return Number.isFinite(parsed) ? parsed : 0;
}
