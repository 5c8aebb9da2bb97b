/**
 * `monitor --redis/--nats`: the monitor's results come from the aggregator of
 * a group of workers instead of from the rows of a file. Each record of the
 * aggregator (the batches committed since the previous one) becomes one
 * result for the monitor's usual table, NDJSON, alerts, summary and report:
 * its "batch" (`index`) is the number of the record (so that the plot runs
 * in commit order), "from line" the first line in the published input of the
 * last batch committed in it, "rows" the samples committed since the previous
 * record, the batch loss the loss over those batches, and the running loss
 * the loss over every committed batch. Each record also brings the group's
 * merged running state (the `--metrics` top-k series, the live page and the
 * report's correlations) and its totals: batches committed, messages
 * dead-lettered and samples committed (the service's counters).
 *
 * @module
 */

import { CorrelationAccumulator } from "../../accumulator/correlation_accumulator.ts";
import type { AggregateRecord } from "../../distributed/aggregate_view.ts";
import type { BatchResult } from "../../stream/batch_result.ts";
import type { BadRowLog } from "../input/bad_row_log.ts";
import type { ResolvedColumns } from "../input/column_selection.ts";
import type { BatchStart } from "../output/batch_table.ts";
import type { RowCounts } from "../row_counts.ts";
import type { BatchTotals } from "../service/drift_metrics.ts";
import type { MonitorSource } from "./_monitor_source.ts";
import { aggregateFrom, checkReachable, type EngineTarget, shownUrl } from "./_scaleout_engine.ts";
import { engineOf } from "./_scaleout_flags.ts";
import type { MonitorArgs } from "./monitor_args.ts";

/** One result for the monitor's reporting steps. */
export interface FeedResult {
  /** The result, as `correlateBatches` would give it. */
  result: BatchResult;
  /** Where its (last) batch starts in the published input. */
  start: BatchStart;
  /** The group's totals after it: batches committed, messages dead-lettered, samples committed. */
  totals?: BatchTotals;
}

/** The results of an aggregating monitor and the batch count its summary states. */
export interface AggregateFeed {
  /** The results, one per aggregator record with something new. */
  results: AsyncIterable<FeedResult>;
  /** Batches committed, as of the last record. */
  batches(): number;
}

/** The run state of an aggregating monitor (the shape of the monitor's own). */
export interface AggregateRun {
  source: MonitorSource;
  columns: ResolvedColumns;
  rows: {
    readonly used: number;
    values(): AsyncGenerator<number[]>;
    nextStart(): BatchStart;
  };
  log: BadRowLog;
  accumulator: CorrelationAccumulator;
  backend: undefined;
  feed: AggregateFeed;
}

/** The metadata `publish` puts on each batch. */
interface PublishedMeta {
  line?: number;
  date?: string;
  columns?: ResolvedColumns;
}

function publishedMeta(record: AggregateRecord): PublishedMeta {
  const meta = record.lastBatch?.meta;
  if (meta === undefined) return {};
  const out: PublishedMeta = {};
  if (typeof meta.line === "number") out.line = meta.line;
  if (typeof meta.date === "string") out.date = meta.date;
  if (typeof meta.columns === "string") {
    try {
      const columns = JSON.parse(meta.columns);
      if (
        Array.isArray(columns?.features) && Array.isArray(columns?.confounds) &&
        [...columns.features, ...columns.confounds].every((name) => typeof name === "string")
      ) out.columns = { features: columns.features, confounds: columns.confounds };
    } catch {
      // Not from `publish`: the report names the columns by position.
    }
  }
  return out;
}

/**
 * The names of the state's columns: the publisher's, when it sent names that
 * fit the state's shape, else by position.
 */
function columnsOf(meta: PublishedMeta, state: CorrelationAccumulator): ResolvedColumns {
  const sent = meta.columns;
  if (
    sent !== undefined && sent.features.length === state.features &&
    sent.confounds.length === state.confounds
  ) return sent;
  return {
    features: Array.from({ length: state.features }, (_, i) => `feature ${i}`),
    confounds: Array.from({ length: state.confounds }, (_, i) => `confound ${i}`),
  };
}

function emptySource(label: string): MonitorSource {
  const none = async function* (): AsyncGenerator<never> {};
  return {
    input: { bytes: none(), totalBytes: undefined, bytesRead: () => 0, label },
    label,
    records: { format: "csv", records: none() },
  };
}

/**
 * Opens the run of an aggregating monitor: checks that the server answers,
 * then reads the group's committed state every --interval, until idle
 * (--until-idle) or SIGINT/SIGTERM, which end it after the record in hand.
 * After each record the run's accumulator is the group's merged state as of
 * that record, its columns are named once the state has samples (from the
 * publisher's metadata, else by position), and `counts` holds the committed
 * samples.
 *
 * @param args The monitor's options (with --redis or --nats, --stream, --group).
 * @param counts The run's row counts: read and used follow the committed samples.
 * @param log The run's bad-row log (stays empty: the publisher read the input).
 * @param signal The run's shutdown signal (SIGINT/SIGTERM): it ends the reads after the record in hand.
 * @returns The run state.
 * @throws {BatchCorrError} "engine_unavailable" if the server does not accept connections.
 */
export async function openAggregateRun(
  args: MonitorArgs,
  counts: RowCounts,
  log: BadRowLog,
  signal: AbortSignal,
): Promise<AggregateRun> {
  const { engine, url } = engineOf("monitor", args, true);
  const target: EngineTarget = {
    engine,
    url,
    stream: args.stream!,
    retryForMs: Math.round(args.retryFor * 1000),
  };
  await checkReachable(target);
  const label = `${shownUrl(url)} stream ${args.stream} group ${args.group}`;
  let used = 0, batches = 0;
  const run: AggregateRun = {
    source: emptySource(label),
    columns: { features: [], confounds: [] },
    rows: {
      get used() {
        return used;
      },
      values: async function* () {},
      nextStart: () => ({ line: Number.NaN }),
    },
    log,
    accumulator: new CorrelationAccumulator({ maxElements: args.maxElements }),
    backend: undefined,
    feed: { results: results(), batches: () => batches },
  };
  async function* results(): AsyncGenerator<FeedResult> {
    let previous = { count: 0, deadLetters: 0 };
    let index = 0;
    for await (const record of aggregateFrom(target, settingsOf(args, signal))) {
      const state = record.state!;
      // Named once, from the first state with samples: the names then stay those of every series.
      if (run.columns.features.length === 0 && state.count > 0) {
        run.columns = columnsOf(publishedMeta(record), state);
      }
      run.accumulator = state;
      const fresh = record.count !== previous.count;
      const dead = record.deadLetters - previous.deadLetters;
      used = counts.read = counts.used = record.count;
      batches = record.batches;
      const totals = { batches, skipped: record.deadLetters, samples: record.count };
      if (dead > 0) yield { ...deadLetterResult(index++, record, dead), totals };
      if (fresh) {
        const result = resultOf(index++, record, record.count - previous.count);
        yield { result, start: startOf(publishedMeta(record)), totals };
      }
      previous = record;
    }
  }
  return run;
}

function settingsOf(args: MonitorArgs, signal: AbortSignal) {
  return {
    group: args.group!,
    loss: {
      tol: args.tol,
      tolSig: args.tolSig,
      abs: args.abs,
      nu: args.nu,
      scalarisation: args.scalarisation,
      maxElements: args.maxElements,
    },
    window: args.window,
    decay: args.decay,
    output: args.correlations ? "full" as const : "losses" as const,
    intervalMs: Math.round(args.interval * 1000),
    untilIdleMs: args.untilIdle === undefined ? undefined : Math.round(args.untilIdle * 1000),
    signal,
  };
}

function startOf(meta: PublishedMeta): BatchStart {
  return { line: meta.line ?? Number.NaN, ...(meta.date === undefined ? {} : { date: meta.date }) };
}

/**
 * A record as a batch result: the batches committed since the previous record
 * stand for "the batch" (before the first record, that is every batch committed).
 */
function resultOf(index: number, record: AggregateRecord, rows: number): BatchResult {
  const batch = record.interval ?? (record.index === 0 ? record.running : undefined);
  return {
    index,
    batchSize: rows,
    count: record.count,
    tol: batch?.tol ?? Number.NaN,
    loss: batch?.loss ?? Number.NaN,
    ...(batch?.correlations ? { correlations: batch.correlations } : {}),
    running: record.running,
    ...(record.window ? { window: record.window } : {}),
  };
}

/** Dead-lettered messages show as a skipped batch, as an invalid batch of a file does. */
function deadLetterResult(index: number, record: AggregateRecord, dead: number): FeedResult {
  return {
    result: {
      index,
      batchSize: Number.NaN,
      count: record.count,
      tol: Number.NaN,
      loss: Number.NaN,
      running: record.running,
      skipped: {
        reason: `${dead} message(s) dead-lettered by the workers (${record.deadLetters} so far; ` +
          "see docs/scale_out.md for reading them)",
      },
    },
    start: { line: Number.NaN },
  };
}
