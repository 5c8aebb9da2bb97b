/**
 * The NATS connection: `@nats-io/transport-node`, `@nats-io/jetstream` and
 * `@nats-io/kv`, loaded only when a NATS role runs, with an error naming the
 * packages when one is missing.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import { loadOptionalPackage, type OptionalPackage } from "../core/optional_package.ts";

/** The three modules, loosely typed: only what this adapter calls. */
export interface NatsModules {
  // deno-lint-ignore no-explicit-any
  transport: any;
  // deno-lint-ignore no-explicit-any
  jetstream: any;
  // deno-lint-ignore no-explicit-any
  kv: any;
}

/** Loads the optional peer dependencies. */
export type NatsImporter = () => Promise<NatsModules>;

/** The packages the NATS roles need, installed together (package.json's peerDependencies). */
export const NATS_PACKAGES: readonly OptionalPackage[] = [
  "@nats-io/transport-node",
  "@nats-io/jetstream",
  "@nats-io/kv",
].map((name) => ({ name, range: "^3.4.0", feature: "connect to NATS" }));

const defaultImporter: NatsImporter = async () => ({
  transport: await import("@nats-io/transport-node"),
  jetstream: await import("@nats-io/jetstream"),
  kv: await import("@nats-io/kv"),
});

let importer: NatsImporter = defaultImporter;

/**
 * Replaces how the NATS packages are imported (tests simulate a missing one).
 *
 * @param replacement The importer, or undefined for the real imports.
 */
export function setNatsImporter(replacement: NatsImporter | undefined): void {
  importer = replacement ?? defaultImporter;
}

/**
 * Imports the NATS packages.
 *
 * @throws {BatchCorrError} "peer_missing" naming the packages and the commands that install them.
 */
export function loadNats(): Promise<NatsModules> {
  return loadOptionalPackage(NATS_PACKAGES, importer);
}

/**
 * Checks a `nats://host:port` URL.
 *
 * @throws {TypeError} If it is not a nats:// (or tls://) URL.
 */
export function checkNatsUrl(url: unknown, context: string, name = "options.nats"): string {
  const rule = 'a "nats://host:port" URL';
  if (typeof url !== "string") throw new TypeError(ruleMessage(context, name, rule, url));
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(ruleMessage(context, name, rule, url));
  }
  if ((parsed.protocol !== "nats:" && parsed.protocol !== "tls:") || parsed.hostname === "") {
    throw new TypeError(ruleMessage(context, name, rule, url));
  }
  return url;
}

/** An open connection with its JetStream handles. */
export interface OpenedNats {
  modules: NatsModules;
  // deno-lint-ignore no-explicit-any
  nc: any;
  // deno-lint-ignore no-explicit-any
  js: any;
  // deno-lint-ignore no-explicit-any
  jsm: any;
  // deno-lint-ignore no-explicit-any
  kvm: any;
  server: string;
  /** The largest message the server accepts, in bytes. */
  maxPayload: number;
  close(): Promise<void>;
}

/** Connects (reconnecting forever, as the roles retry on their own). */
export async function openNats(url: string, context: string): Promise<OpenedNats> {
  checkNatsUrl(url, context);
  const modules = await loadNats();
  const nc = await modules.transport.connect({
    servers: url,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  });
  const js = modules.jetstream.jetstream(nc);
  const jsm = await modules.jetstream.jetstreamManager(nc);
  const kvm = new modules.kv.Kvm(nc);
  return {
    modules,
    nc,
    js,
    jsm,
    kvm,
    server: url,
    maxPayload: Number(nc.info?.max_payload ?? 1024 * 1024),
    close: async () => {
      try {
        await nc.drain();
      } catch {
        await nc.close().catch(() => {});
      }
    },
  };
}

/** Whether a JetStream error is a compare-and-set conflict ("wrong last sequence"). */
export function isWrongSequence(error: unknown): boolean {
  const message = String((error as Error)?.message ?? "");
  return /wrong last sequence|key exists/i.test(message) ||
    (error as { api_error?: { err_code?: number } })?.api_error?.err_code === 10071;
}

/** The fields of a consumer's info this adapter reads. */
export interface ConsumerState {
  num_pending: number;
  num_ack_pending: number;
}

/** The fields of a stream's info this adapter reads. */
export interface StreamState {
  state: { messages: number };
}

/** A JetStream message as this adapter uses it. */
export interface PulledMessage {
  seq: number;
  data: Uint8Array;
  info?: { deliveryCount?: number };
  ack(): void;
  nak(): void;
}

/** A durable pull consumer as this adapter uses it. */
export interface PullConsumer {
  info(): Promise<ConsumerState>;
  fetch(options: { max_messages: number; expires: number }): Promise<AsyncIterable<PulledMessage>>;
}
