/**
 * The Redis keys beside a stream, and the checks on stream, group and worker names.
 *
 * Every key starts with the stream's name, so one `SCAN MATCH stream:bc:*`
 * finds them. The scripts touch keys derived from these names, so the layout
 * needs a single Redis server (not Redis Cluster).
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";

/** The keys of one stream and consumer group. */
export interface StreamKeys {
  /** The stream of batch messages. */
  stream: string;
  /** Hash: batch id → entry id, the publisher's guard against adding a batch twice. */
  published: string;
  /** Set of worker names that have joined the group. */
  workers: string;
  /** Prefix of each worker's checkpoint hash (append the worker's name). */
  checkpointPrefix: string;
  /** Stream of per-batch moments, one entry per committed batch, for window views. */
  log: string;
  /** Stream of dead letters: entry id, batch id, reason, worker, payload. */
  dead: string;
}

/** Derives the keys. */
export function streamKeys(stream: string, group = ""): StreamKeys {
  const base = `${stream}:bc`;
  return {
    stream,
    published: `${base}:published`,
    workers: `${base}:${group}:workers`,
    checkpointPrefix: `${base}:${group}:checkpoint:`,
    log: `${base}:${group}:log`,
    dead: `${base}:${group}:dead`,
  };
}

const NAME = /^[A-Za-z0-9._@-]{1,128}$/;
const KEY = /^[\x21-\x7e]{1,256}$/;

/**
 * Checks a stream or group name: 1–256 printable ASCII characters, no spaces.
 *
 * @throws {TypeError} Naming the option and the value.
 */
export function checkKeyName(value: unknown, name: string, context: string): string {
  if (typeof value !== "string" || !KEY.test(value)) {
    throw new TypeError(
      ruleMessage(context, name, "1 to 256 printable ASCII characters without spaces", value),
    );
  }
  return value;
}

/**
 * Checks a worker name: 1–128 of `A–Z a–z 0–9 . _ @ -` (the aggregator merges
 * workers in the order of these names).
 *
 * @throws {TypeError} Naming the option and the value.
 */
export function checkWorkerName(value: unknown, name: string, context: string): string {
  if (typeof value !== "string" || !NAME.test(value)) {
    throw new TypeError(
      ruleMessage(context, name, "1 to 128 characters from A–Z a–z 0–9 . _ @ -", value),
    );
  }
  return value;
}
