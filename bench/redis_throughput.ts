/**
 * Throughput of the Redis Streams path against the single process: batches/s
 * and MB/s through Redis with 1, 2 and 4 worker processes, beside
 * `correlateBatches` on the same batches in one process, and where a
 * worker's time goes (receive, decode, fold, commit).
 *
 *     REDIS_URL=redis://127.0.0.1:6379 deno run -A bench/redis_throughput.ts [batches] [rounds]
 *     REDIS_URL=redis://127.0.0.1:6379 bun bench/redis_throughput.ts [batches] [rounds]
 *
 * Without REDIS_URL it starts its own redis-server on a free port (no
 * persistence) and stops it at the end. Worker processes run in the same
 * runtime as this script. Each round publishes the batches first, then
 * starts the workers together and times from the start signal until every
 * batch is committed (polling the committed state every 5 ms), so process
 * start-up is not counted. Times are the median over rounds.
 *
 * @module
 */

import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { correlateBatches } from "../mod.ts";
import {
  CheckpointedFold,
  decodeBatchEnvelope,
  encodeBatchEnvelope,
} from "../src/distributed/mod.ts";
import type { CheckpointCommit, CheckpointStore } from "../src/distributed/mod.ts";
import { publishRedisBatches, readRedisCommitted } from "../src/redis/mod.ts";
import { openRedis } from "../src/redis/_client.ts";
import { streamKeys } from "../src/redis/_keys.ts";
import { RedisBatchSource } from "../src/redis/_redis_source.ts";
import { RedisCheckpointStore } from "../src/redis/_redis_store.ts";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";

const COUNT = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const WORKER = fileURLToPath(new URL("./redis_bench_worker.ts", import.meta.url));
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
const runtime = deno ? "deno" : "bun";

interface Shape {
  B: number;
  F: number;
  M: number;
}
const SHAPES: Shape[] = [{ B: 256, F: 1000, M: 4 }, { B: 256, F: 1000, M: 64 }];

function batchesOf({ B, F, M }: Shape, count: number) {
  const random = mulberry32(1234 + M);
  return Array.from({ length: count }, () => {
    const n = Float64Array.from({ length: M * B }, () => random() - 0.5);
    const x = new Float64Array(B * F);
    for (let b = 0; b < B; b++) for (let f = 0; f < F; f++) x[b * F + f] = random() + 0.3 * n[b]!;
    return { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1]!;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function startOwnRedis(): Promise<{ url: string; stop(): void }> {
  if (spawnSync("redis-server", ["--version"]).status !== 0) {
    throw new Error("set REDIS_URL or install redis-server");
  }
  const port = await freePort();
  const child = spawn("redis-server", [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "no",
  ], {
    stdio: "ignore",
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const opened = await openRedis(url, "bench");
    const ok = await opened.client.callBuffer("PING").then(() => true, () => false);
    await opened.close();
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, stop: () => child.kill("SIGTERM") };
}

async function singleProcess(batches: ReturnType<typeof batchesOf>): Promise<number> {
  const t0 = performance.now();
  for await (const _ of correlateBatches(batches, { output: "losses" })) { /* drain */ }
  return (performance.now() - t0) / 1000;
}

async function throughRedis(
  redis: string,
  batches: ReturnType<typeof batchesOf>,
  workers: number,
  round: number,
) {
  const stream = `bench-${runtime}-${batches[0]!.n.shape[0]}-${workers}-${round}-${Date.now()}`;
  const published0 = performance.now();
  const published = await publishRedisBatches(batches, { redis, stream });
  const publishSeconds = (performance.now() - published0) / 1000;
  const command = deno
    ? [deno.execPath(), ["run", "-A", WORKER]] as const
    : [process.execPath, [WORKER]] as const;
  const children = Array.from(
    { length: workers },
    (_, i) =>
      spawn(command[0], [
        ...command[1],
        JSON.stringify({ redis, stream, group: "g", name: `w${i}`, logLength: 100 }),
      ], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
  );
  const outputs = children.map((child) => {
    let text = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => (text += chunk));
    return () => text;
  });
  while (!outputs.every((out) => out().includes("READY"))) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const t0 = performance.now();
  for (const child of children) child.stdin!.write("go\n");
  const opened = await openRedis(redis, "bench");
  const { client } = opened;
  const checkpoints = streamKeys(stream, "g");
  for (;;) {
    let total = 0;
    for (let i = 0; i < workers; i++) {
      total += Number(
        await client.callBuffer("HGET", `${checkpoints.checkpointPrefix}w${i}`, "batches") ?? 0,
      );
    }
    if (total >= batches.length) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(children.map((child) => new Promise((resolve) => child.once("exit", resolve))));
  const committed = await readRedisCommitted({ redis, stream, group: "g" });
  if (committed.batches !== batches.length) {
    throw new Error(`committed ${committed.batches} of ${batches.length}`);
  }
  await client.callBuffer("DEL", stream, checkpoints.log, streamKeys(stream).published);
  await opened.close();
  return { seconds, publishSeconds, bytes: published.bytes };
}

/** One worker's time split by phase, in this process, on the real source and store. */
async function breakdown(redis: string, batches: ReturnType<typeof batchesOf>) {
  const stream = `bench-breakdown-${runtime}-${Date.now()}`;
  await publishRedisBatches(batches, { redis, stream });
  const opened = await openRedis(redis, "bench");
  const keys = streamKeys(stream, "g");
  const source = new RedisBatchSource({
    client: opened.client,
    keys,
    group: "g",
    worker: "w",
    claimIdleMs: 60_000,
    blockMs: 50,
  });
  const inner = new RedisCheckpointStore({
    client: opened.client,
    keys,
    group: "g",
    worker: "w",
    logLength: 100,
  });
  await inner.join();
  const time = { receive: 0, decode: 0, fold: 0, commit: 0 };
  const store: CheckpointStore = {
    load: () => inner.load(),
    commit: async (commit: CheckpointCommit, fence: string) => {
      const t = performance.now();
      const outcome = await inner.commit(commit, fence);
      time.commit += performance.now() - t;
      return outcome;
    },
  };
  const fold = new CheckpointedFold(store);
  await fold.load();
  source.rewind();
  for (let done = 0; done < batches.length;) {
    let t = performance.now();
    const deliveries = await source.receive({ max: 1 });
    time.receive += performance.now() - t;
    if (deliveries.length === 0) continue;
    t = performance.now();
    decodeBatchEnvelope(deliveries[0]!.payload);
    time.decode += performance.now() - t;
    const commitBefore = time.commit;
    t = performance.now();
    await fold.step(deliveries);
    time.fold += performance.now() - t - (time.commit - commitBefore);
    done += deliveries.length;
  }
  // Decoding is inside the fold too: report the fold without it.
  time.fold -= time.decode;
  const t = performance.now();
  for (const batch of batches) encodeBatchEnvelope({ id: "b", x: batch.x, n: batch.n });
  const encode = performance.now() - t;
  await opened.client.callBuffer("DEL", stream, keys.log, streamKeys(stream).published);
  await opened.close();
  const perBatch = (ms: number) => Number((ms / batches.length).toFixed(3));
  return {
    encodeMs: perBatch(encode),
    receiveMs: perBatch(time.receive),
    decodeMs: perBatch(time.decode),
    foldMs: perBatch(time.fold),
    commitMs: perBatch(time.commit),
  };
}

const own = process.env.REDIS_URL ? undefined : await startOwnRedis();
const redis = process.env.REDIS_URL ?? own!.url;
const report: Record<string, unknown>[] = [];
try {
  for (const shape of SHAPES) {
    const batches = batchesOf(shape, COUNT);
    const label = `${shape.B}×${shape.F}×${shape.M}`;
    // Rounds interleave every configuration, so load from other processes hits each alike.
    const singles: number[] = [];
    const runs = new Map<number, Awaited<ReturnType<typeof throughRedis>>[]>([[1, []], [2, []], [
      4,
      [],
    ]]);
    for (let r = 0; r < ROUNDS; r++) {
      singles.push(await singleProcess(batches));
      for (const workers of runs.keys()) {
        runs.get(workers)!.push(await throughRedis(redis, batches, workers, r));
      }
    }
    const single = median(singles);
    const rows = [...runs].map(([workers, list]) => {
      const seconds = median(list.map((run) => run.seconds));
      const bytes = list[0]!.bytes;
      return {
        workers,
        batchesPerSecond: Number((COUNT / seconds).toFixed(1)),
        megabytesPerSecond: Number((bytes / seconds / 1e6).toFixed(1)),
        publishMegabytesPerSecond: Number(
          (bytes / median(list.map((run) => run.publishSeconds)) / 1e6).toFixed(1),
        ),
        secondsPerBatch: seconds / COUNT,
      };
    });
    const one = rows[0]!.secondsPerBatch!;
    report.push({
      shape: label,
      runtime,
      batches: COUNT,
      singleProcessBatchesPerSecond: Number((COUNT / single).toFixed(1)),
      redis: rows.map(({ secondsPerBatch: _, ...row }) => row),
      overheadAt1Worker: `${(((one * COUNT) / single - 1) * 100).toFixed(0)}%`,
      speedup2Over1: Number((one / rows[1]!.secondsPerBatch!).toFixed(2)),
      speedup4Over1: Number((one / rows[2]!.secondsPerBatch!).toFixed(2)),
      perBatchBreakdown: await breakdown(redis, batches.slice(0, Math.min(COUNT, 20))),
      loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
    });
    console.log(JSON.stringify(report.at(-1)));
  }
} finally {
  own?.stop();
}
