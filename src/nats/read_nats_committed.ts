/**
 * A one-shot read of a JetStream group's committed correlation state.
 *
 * @module
 */

import { z } from "zod";
import type { CorrelationAccumulator } from "../accumulator/correlation_accumulator.ts";
import { parseOptions } from "../core/parse_options.ts";
import { type CommittedPart, mergeCommitted } from "../distributed/aggregate_view.ts";
import { openNats } from "./_client.ts";
import { readPartitions } from "./_committed.ts";
import { checkNatsName, natsLayout } from "./_layout.ts";
import { NATS_RULES } from "./_options.ts";

/** Options of {@linkcode readNatsCommitted}. */
export interface ReadNatsCommittedOptions {
  /** A `nats://host:port` URL. */
  nats: string;
  /** The stream. */
  stream: string;
  /** The workers' group. */
  group: string;
  /** The largest F·M a snapshot may declare. @default {134217728} */
  maxElements?: number;
}

/** The committed state of a group. */
export interface NatsCommittedState {
  /** Every partition's snapshot merged in partition order. */
  accumulator: CorrelationAccumulator;
  /** Batches inside it. */
  batches: number;
  /** Messages dead-lettered. */
  deadLetters: number;
  /** Each partition's committed part. */
  partitions: CommittedPart[];
}

const schema = z.strictObject({
  nats: z.string(),
  stream: z.string(),
  group: z.string(),
  maxElements: z.number().int().positive().default(2 ** 27),
});

/**
 * Reads every partition's checkpoint and merges them in partition order.
 *
 * @param options The server, stream and group.
 * @returns The merged accumulator, the batch count and each partition's part.
 * @throws {TypeError} For a malformed option.
 * @throws {BatchCorrError} "peer_missing" or "invalid_snapshot".
 *
 * @example Reading the group's state
 * ```ts ignore
 * import { readNatsCommitted } from "@streamcorr/batch-corr/nats";
 *
 * const { accumulator, batches } = await readNatsCommitted({ nats: "nats://127.0.0.1:4222", stream: "demo", group: "g" });
 * console.log(batches, accumulator.count);
 * ```
 */
export async function readNatsCommitted(
  options: ReadNatsCommittedOptions,
): Promise<NatsCommittedState> {
  const context = "read the committed state from NATS";
  const o = parseOptions(schema, options, context, NATS_RULES);
  const layout = natsLayout(
    checkNatsName(o.stream, "options.stream", context),
    checkNatsName(o.group, "options.group", context),
  );
  const nats = await openNats(o.nats, context);
  try {
    const cut = await readPartitions(nats, layout);
    return {
      accumulator: mergeCommitted(cut.parts, o.maxElements),
      batches: cut.parts.reduce((total, part) => total + part.batches, 0),
      deadLetters: cut.deadLetters,
      partitions: cut.parts,
    };
  } finally {
    await nats.close();
  }
}
