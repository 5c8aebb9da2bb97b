/**
 * The `worker` command: one worker of a group folding the batches of a Redis
 * stream or a JetStream work queue, committing its state with the
 * acknowledgement of its batches atomically, until idle or stopped.
 *
 * @module
 */

import { ruleMessage } from "../../core/errors.ts";
import { DEFAULT_MAX_ELEMENTS } from "../../core/limits.ts";
import type { Command } from "../args/command.ts";
import { booleanFlag, type FlagValues, HELP_FLAG, valueFlag } from "../args/flag.ts";
import { nonNegativeInteger, numberWhere, positiveInteger } from "../args/flag_schemas.ts";
import { checkFlags, readFlags, withDefaults } from "../args/parse_flags.ts";
import type { CliIo } from "../cli_io.ts";
import { EXIT, UsageError } from "../errors.ts";
import { listenForShutdown } from "../service/shutdown_signal.ts";
import {
  checkReachable,
  type CliWorkerSummary,
  type EngineTarget,
  runWorkerOn,
  shownUrl,
} from "./_scaleout_engine.ts";
import {
  ENGINE_FLAGS,
  engineOf,
  GROUP_FLAG,
  refuseFlags,
  SCALE_OUT,
  WAIT_FLAGS,
} from "./_scaleout_flags.ts";
import { z } from "zod";

const WORKER_NAME = z.string().refine((name) => /^[A-Za-z0-9._@-]{1,128}$/.test(name), {
  message: "1 to 128 characters from A–Z a–z 0–9 . _ @ -",
});

/** The flags of `worker`. */
export const WORKER_FLAGS = {
  help: HELP_FLAG,
  ...ENGINE_FLAGS,
  ...GROUP_FLAG,
  name: valueFlag(WORKER_NAME, {
    section: SCALE_OUT,
    placeholder: "name",
    defaultText: "host name and process id",
    help:
      "--redis: this worker's name, stable across restarts: a worker restarted under its name " +
      "reloads its committed state and first re-reads the batches it still held",
  }),
  "batches-per-commit": valueFlag(
    numberWhere("an integer in [1, 1000]", (v) => Number.isInteger(v) && v >= 1 && v <= 1000),
    {
      section: SCALE_OUT,
      placeholder: "k",
      default: 1,
      help: "--redis: read up to k batches at once and commit them together",
    },
  ),
  "read-ahead": booleanFlag({
    section: SCALE_OUT,
    help: "--redis: read the next batches while folding the current ones",
  }),
  "claim-idle": valueFlag(
    numberWhere("a number of seconds in [0.1, 86400]", (v) => v >= 0.1 && v <= 86400),
    {
      section: SCALE_OUT,
      placeholder: "s",
      default: 30,
      help: "a batch held this long by a stalled or crashed worker goes to another one " +
        "(Redis XAUTOCLAIM idle time, JetStream ack wait); keep it well above one commit's time",
    },
  ),
  "log-length": valueFlag(nonNegativeInteger(), {
    section: SCALE_OUT,
    placeholder: "n",
    default: 1000,
    help: "--redis: keep about n per-batch moments for the monitor's batch and --window views " +
      "(0: none, the monitor then shows running views only)",
  }),
  ...WAIT_FLAGS,
  "max-elements": valueFlag(positiveInteger("the largest F·M"), {
    placeholder: "n",
    default: DEFAULT_MAX_ELEMENTS,
    help: "features x confounds a batch may have; a larger one is dead-lettered",
  }),
};

/** Options of `worker`, checked, with the defaults applied. */
export type WorkerArgs = FlagValues<typeof WORKER_FLAGS> & {
  /** The engine, server and stream (undefined with --help). */
  target: EngineTarget | undefined;
};

const REDIS_ONLY = {
  name: "JetStream workers share partitions, not names",
  "batches-per-commit": "a JetStream partition hands out one batch at a time",
  "read-ahead": "a JetStream partition hands out one batch at a time",
  "log-length": "the JetStream adapter keeps no per-batch log",
};

/**
 * Checks the arguments of `worker`.
 *
 * @param args The arguments after `worker`.
 * @returns The options.
 * @throws {UsageError} For an unknown option, a bad value, a positional argument, or no server, stream or group.
 *
 * @example
 * ```ts
 * import { parseWorkerArgs } from "./worker.ts";
 * import assert from "node:assert/strict";
 *
 * const args = parseWorkerArgs(["--redis", "redis://127.0.0.1:6379", "--stream", "s", "--group", "g"]);
 * assert.deepEqual([args.claimIdle, args.untilIdle, args.target?.engine], [30, undefined, "redis"]);
 * ```
 */
export function parseWorkerArgs(args: readonly string[]): WorkerArgs {
  const raw = readFlags("worker", WORKER_FLAGS, args);
  if (raw.positionals.length > 0) {
    throw new UsageError(
      ruleMessage("run worker", "its arguments", "options only", raw.positionals.join(" ")),
    );
  }
  const given = checkFlags("worker", WORKER_FLAGS, raw);
  const values = withDefaults(WORKER_FLAGS, given);
  if (values.help) return { ...values, target: undefined };
  const { engine, url } = engineOf("worker", given, true);
  if (engine === "nats") refuseFlags("worker --nats", given, REDIS_ONLY);
  return {
    ...values,
    target: { engine, url, stream: values.stream!, retryForMs: Math.round(values.retryFor * 1000) },
  };
}

function summaryLine(summary: CliWorkerSummary, stoppedBy: string): string {
  const who = summary.name === undefined ? "worker" : `worker ${summary.name}`;
  const claimed = summary.claimed === undefined ? "" : `, ${summary.claimed} claimed from others`;
  return `${who} stopped (${stoppedBy}): ${summary.batches} batches, ${summary.samples} rows in ` +
    `${summary.commits} commits; ${summary.refusedCommits} refused, ${summary.deadLetters} ` +
    `dead-lettered, ${summary.skipped} skipped as already committed${claimed}\n`;
}

/**
 * Runs `worker`: until every batch is committed and nothing new arrived for
 * --until-idle seconds, or until SIGINT/SIGTERM, after which the batch in
 * hand is folded and committed and the command exits 0.
 *
 * @param args The checked options.
 * @param io The streams.
 * @returns The exit code, 0.
 * @throws {BatchCorrError} "engine_unavailable" when the server cannot be reached,
 * "commit_refused" when another process started under the same name (exit code 2).
 */
export async function runWorker(args: WorkerArgs, io: CliIo): Promise<number> {
  const target = args.target!;
  await checkReachable(target);
  using shutdown = listenForShutdown();
  io.stderr.write(
    `batch-corr worker${args.name === undefined ? "" : ` ${args.name}`}: group ${args.group} of ` +
      `stream ${target.stream} on ${shownUrl(target.url)}` +
      (args.untilIdle === undefined
        ? ", until SIGINT or SIGTERM\n"
        : `, until idle for ${args.untilIdle} s\n`),
  );
  const summary = await runWorkerOn(target, {
    group: args.group!,
    name: args.name,
    batchesPerCommit: args.batchesPerCommit,
    readAhead: args.readAhead,
    logLength: args.logLength,
    claimIdleMs: Math.round(args.claimIdle * 1000),
    untilIdleMs: args.untilIdle === undefined ? undefined : Math.round(args.untilIdle * 1000),
    maxElements: args.maxElements,
    signal: shutdown.signal,
  });
  const stoppedBy = summary.stoppedBy === "idle" ? "idle" : shutdown.received ?? "signal";
  await io.stdout.write(summaryLine(summary, stoppedBy));
  return EXIT.ok;
}

/** The `worker` command. */
export const WORKER: Command<WorkerArgs> = {
  name: "worker",
  synopses: [
    [
      "batch-corr worker --redis url --stream s --group g [--name n] [options]",
      "fold a stream's batches, exactly once",
    ],
  ],
  description: [
    "Joins the group's workers on a Redis stream (--redis) or JetStream work queue (--nats) " +
    "written by 'batch-corr publish', folds each batch into its correlation state and commits the " +
    "state together with the acknowledgement of its batches in one atomic step, so that every " +
    "batch is counted once whatever crashes or restarts. Start as many as you like; " +
    "'batch-corr monitor --redis … --stream … --group …' reports the group's correlations. " +
    "SIGINT or SIGTERM: the batch in hand is committed, then the worker exits 0.",
  ],
  flags: WORKER_FLAGS,
  exitCodes:
    "Exit codes: 0 stopped (idle or by a signal), 2 bad usage, an unreachable server or a name " +
    "taken over by another process, 1 internal error.",
  parse: parseWorkerArgs,
  run: runWorker,
};
