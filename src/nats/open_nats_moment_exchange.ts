/**
 * The all-reduce meeting point on JetStream KV: one key per step and rank.
 *
 * @module
 */

import { z } from "zod";
import { parseOptions } from "../core/parse_options.ts";
import type { MomentExchange } from "../distributed/all_reduce_moments.ts";
import { isWrongSequence, openNats } from "./_client.ts";
import { checkNatsName } from "./_layout.ts";
import { NATS_RULES } from "./_options.ts";

/** Options of {@linkcode openNatsMomentExchange}. */
export interface OpenNatsMomentExchangeOptions {
  /** A `nats://host:port` URL. */
  nats: string;
  /** The KV bucket of this training run. */
  prefix: string;
  /** How long each contribution is kept. @default {600000} */
  ttlMs?: number;
}

/** A {@linkcode MomentExchange} on JetStream KV, to be closed after training. */
export interface NatsMomentExchange extends MomentExchange {
  /** Closes the connection. */
  close(): Promise<void>;
}

const schema = z.strictObject({
  nats: z.string(),
  prefix: z.string(),
  ttlMs: z.number().int().positive().default(600_000),
});

/**
 * Opens a moment exchange for `allReduceMoments` in a JetStream KV bucket.
 * A rank's contribution is written with `create`, which refuses a second
 * write of the key, so a retried publish is harmless and a different second
 * one is detected.
 *
 * @param options The server, the run's bucket and the time to keep contributions.
 * @returns The exchange.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing" when the `@nats-io/*` packages are not installed.
 *
 * @example One step on rank 1 of 2
 * ```ts ignore
 * import { allReduceMoments } from "@streamcorr/batch-corr/distributed";
 * import { openNatsMomentExchange } from "@streamcorr/batch-corr/nats";
 *
 * const exchange = await openNatsMomentExchange({ nats: "nats://127.0.0.1:4222", prefix: "run-42" });
 * const global = await allReduceMoments(exchange, { x: [[1], [2], [5]], n: [1, 2, 3] }, { rank: 1, worldSize: 2, step: 0 });
 * await exchange.close();
 * ```
 */
export async function openNatsMomentExchange(
  options: OpenNatsMomentExchangeOptions,
): Promise<NatsMomentExchange> {
  const context = "open the NATS moment exchange";
  const o = parseOptions(schema, options, context, NATS_RULES);
  const bucketName = checkNatsName(o.prefix, "options.prefix", context);
  const nats = await openNats(o.nats, context);
  const bucket = await nats.kvm.create(bucketName, { history: 1, ttl: o.ttlMs });
  return {
    async publish(step: number, rank: number, payload: Uint8Array): Promise<Uint8Array> {
      const key = `s${step}.r${rank}`;
      try {
        await bucket.create(key, payload);
        return payload;
      } catch (error) {
        if (!isWrongSequence(error)) throw error;
        const existing = await bucket.get(key);
        return new Uint8Array(existing?.value ?? new Uint8Array(0));
      }
    },
    async read(step: number): Promise<Map<number, Uint8Array>> {
      const found = new Map<number, Uint8Array>();
      const keys: string[] = [];
      for await (const key of await bucket.keys(`s${step}.>`)) keys.push(key);
      for (const key of keys) {
        const entry = await bucket.get(key);
        if (entry && entry.operation === "PUT") {
          found.set(Number(key.split(".r")[1]), new Uint8Array(entry.value));
        }
      }
      return found;
    },
    close: () => nats.close(),
  };
}
