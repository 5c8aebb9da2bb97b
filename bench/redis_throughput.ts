/**
 * Throughput of the Redis Streams path against the single process: batches/s
 * and MB/s through Redis with 1, 2 and 4 worker processes, beside
 * `correlateBatches` on the same batches in one process, for three worker
 * settings, and where one worker's time goes (receive, commit, fold, and the
 * bare cost of moving one envelope's bytes out of Redis).
 *
 *     REDIS_URL=redis://127.0.0.1:6379 deno run -A bench/redis_throughput.ts [batches] [rounds] [shape]
 *     REDIS_URL=redis://127.0.0.1:6379 bun bench/redis_throughput.ts [batches] [rounds] [shape]
 *
 * `shape` (`BxFxM`, e.g. `256x1000x4`) runs that one shape instead of the three defaults. Without REDIS_URL it
 * starts its own redis-server on a free port (no persistence) and stops it
 * at the end. Worker processes run in the same runtime as this script; each
 * connects before it says READY, so process start-up and the client's import
 * are not timed. Each round publishes the batches first, then starts the
 * workers together and times from the start signal until every batch is
 * committed (polling the committed state every 5 ms). Rounds interleave every
 * configuration, so load from other processes hits each alike; times are the
 * median over rounds. The settings:
 * - `default`: one batch per commit, per-batch moments logged, float64;
 * - `batched`: 4 batches per read and commit, read-ahead, float64;
 * - `lean`: as batched, with float32 payloads and no per-batch log (running views only).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { loadavg } from "node:os";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { correlateBatches, CorrelationAccumulator } from "../mod.ts";
import { encodeBatchEnvelope } from "../src/distributed/mod.ts";
import { publishRedisBatches, runRedisWorker } from "../src/redis/mod.ts";
import { openRedis, type RedisClientLike } from "../src/redis/_client.ts";
import { streamKeys } from "../src/redis/_keys.ts";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";
import { scriptCommand } from "./_script_command.ts";

const COUNT = Number(process.argv[2] ?? 100);
const ROUNDS = Number(process.argv[3] ?? 3);
const ONLY = process.argv[4];
const WORKER = fileURLToPath(new URL("./redis_bench_worker.ts", import.meta.url));
const runtime = "Deno" in globalThis ? "deno" : "bun";

interface Shape {
  B: number;
  F: number;
  M: number;
}
const DEFAULT_SHAPES: Shape[] = [
  { B: 256, F: 1000, M: 4 },
  { B: 256, F: 1000, M: 64 },
  { B: 256, F: 500, M: 256 },
];
const SHAPES: Shape[] = ONLY === undefined ? DEFAULT_SHAPES : [shapeOf(ONLY)];

/** A `BxFxM` argument as a shape. */
function shapeOf(text: string): Shape {
  const match = /^(\d+)x(\d+)x(\d+)$/.exec(text);
  if (!match) {
    throw new RangeError(`the shape must be BxFxM, e.g. 256x1000x4: current value is ${text}`);
  }
  const [B, F, M] = match.slice(1).map(Number) as [number, number, number];
  return { B, F, M };
}

interface Setting {
  name: string;
  batchesPerCommit: number;
  readAhead: boolean;
  dtype: "float64" | "float32";
  logLength: number;
}
const SETTINGS: Setting[] = [
  { name: "default", batchesPerCommit: 1, readAhead: false, dtype: "float64", logLength: 1000 },
  { name: "batched", batchesPerCommit: 4, readAhead: true, dtype: "float64", logLength: 1000 },
  { name: "lean", batchesPerCommit: 4, readAhead: true, dtype: "float32", logLength: 0 },
];
const WORKERS = [1, 2, 4];

type Batches = ReturnType<typeof batchesOf>;

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

const round2 = (value: number) => Number(value.toFixed(2));

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
  ], { stdio: "ignore" });
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

async function singleProcess(batches: Batches): Promise<number> {
  const t0 = performance.now();
  for await (const _ of correlateBatches(batches, { output: "losses" })) { /* drain */ }
  return (performance.now() - t0) / 1000;
}

async function dropStream(client: RedisClientLike, stream: string): Promise<void> {
  const keys = streamKeys(stream, "g");
  const checkpoints = await client.callBuffer("SMEMBERS", keys.workers) as Uint8Array[];
  await client.callBuffer(
    "DEL",
    stream,
    keys.log,
    keys.dead,
    keys.workers,
    streamKeys(stream).published,
    ...checkpoints.map((name) => `${keys.checkpointPrefix}${new TextDecoder().decode(name)}`),
  );
}

async function throughRedis(
  redis: string,
  client: RedisClientLike,
  batches: Batches,
  setting: Setting,
  workers: number,
): Promise<{ seconds: number; bytes: number; publishSeconds: number }> {
  const stream = `bench-${runtime}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  const published0 = performance.now();
  const published = await publishRedisBatches(batches, {
    redis: client,
    stream,
    dtype: setting.dtype,
  });
  const publishSeconds = (performance.now() - published0) / 1000;
  const command = scriptCommand(WORKER);
  const config = (i: number) =>
    JSON.stringify({
      redis,
      stream,
      group: "g",
      name: `w${i}`,
      batchesPerCommit: setting.batchesPerCommit,
      readAhead: setting.readAhead,
      logLength: setting.logLength,
    });
  const children = Array.from(
    { length: workers },
    (_, i) => spawn(command[0], [...command[1], config(i)], { stdio: ["pipe", "pipe", "inherit"] }),
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
  const checkpoints = streamKeys(stream, "g");
  const t0 = performance.now();
  for (const child of children) child.stdin!.write("go\n");
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
  await dropStream(client, stream);
  return { seconds, bytes: published.bytes, publishSeconds };
}

/**
 * One worker in this process with the default setting, its Redis calls timed
 * by command: receive (XREADGROUP, the envelope's bytes included), commit (the
 * Lua script), and the rest (decoding, the kernel, merging, snapshots).
 */
async function breakdown(client: RedisClientLike, batches: Batches) {
  const stream = `bench-breakdown-${runtime}-${Date.now()}`;
  await publishRedisBatches(batches, { redis: client, stream });
  const times = new Map<string, number>();
  const timed: RedisClientLike = {
    callBuffer: async (command, ...args) => {
      const t = performance.now();
      try {
        return await client.callBuffer(command, ...args);
      } finally {
        const key = command === "XREADGROUP"
          ? "receive"
          : command === "EVALSHA"
          ? "script"
          : "other";
        times.set(key, (times.get(key) ?? 0) + performance.now() - t);
      }
    },
    quit: () => Promise.resolve(),
  };
  const t0 = performance.now();
  await runRedisWorker({
    redis: timed,
    stream,
    group: "g",
    name: "w",
    untilIdleMs: 0,
    blockMs: 5,
    logLength: 1000,
  });
  const total = performance.now() - t0;
  // The bare transfer of one envelope's bytes out of Redis, for comparison with "receive".
  const envelope = encodeBatchEnvelope({ id: "b", x: batches[0]!.x, n: batches[0]!.n });
  await client.callBuffer("SET", `${stream}:raw`, Buffer.from(envelope.buffer));
  const gets: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = performance.now();
    await client.callBuffer("GET", `${stream}:raw`);
    gets.push(performance.now() - t);
  }
  const encodes: number[] = [];
  for (const batch of batches.slice(0, 15)) {
    const t = performance.now();
    encodeBatchEnvelope({ id: "b", x: batch.x, n: batch.n });
    encodes.push(performance.now() - t);
  }
  const folds: number[] = [];
  const state = new CorrelationAccumulator();
  for (const batch of batches.slice(0, 15)) {
    const t = performance.now();
    state.merge(new CorrelationAccumulator().update(batch.x, batch.n));
    state.toBytes();
    folds.push(performance.now() - t);
  }
  await client.callBuffer("DEL", `${stream}:raw`);
  await dropStream(client, stream);
  const per = (ms: number) => round2(ms / batches.length);
  const receive = times.get("receive") ?? 0, script = times.get("script") ?? 0;
  return {
    workerMsPerBatch: per(total),
    receiveMs: per(receive),
    commitMs: per(script),
    otherRedisMs: per(times.get("other") ?? 0),
    inWorkerMs: per(total - receive - script - (times.get("other") ?? 0)),
    bareGetOfOneEnvelopeMs: round2(median(gets)),
    encodeMs: round2(median(encodes)),
    updateMergeSnapshotMs: round2(median(folds)),
  };
}

const own = process.env.REDIS_URL ? undefined : await startOwnRedis();
const redis = process.env.REDIS_URL ?? own!.url;
const opened = await openRedis(redis, "bench");
try {
  console.log(JSON.stringify({ runtime, batches: COUNT, rounds: ROUNDS, loadAverage: loadavg() }));
  for (const shape of SHAPES) {
    const batches = batchesOf(shape, COUNT);
    const label = `${shape.B}×${shape.F}×${shape.M}`;
    const singles: number[] = [];
    const runs = new Map<string, Awaited<ReturnType<typeof throughRedis>>[]>();
    for (let r = 0; r < ROUNDS; r++) {
      singles.push(await singleProcess(batches));
      for (const setting of SETTINGS) {
        for (const workers of WORKERS) {
          const key = `${setting.name}/${workers}`;
          runs.set(key, [
            ...(runs.get(key) ?? []),
            await throughRedis(redis, opened.client, batches, setting, workers),
          ]);
        }
      }
    }
    const single = median(singles);
    const rows = SETTINGS.map((setting) => {
      const seconds = WORKERS.map((w) =>
        median(runs.get(`${setting.name}/${w}`)!.map((r) => r.seconds))
      );
      const bytes = runs.get(`${setting.name}/1`)![0]!.bytes;
      return {
        setting: setting.name,
        batchesPerSecond: seconds.map((s) => Number((COUNT / s).toFixed(1))),
        megabytesPerSecond: seconds.map((s) => Number((bytes / s / 1e6).toFixed(1))),
        overheadAt1Worker: `${((seconds[0]! / single - 1) * 100).toFixed(0)}%`,
        speedup2Over1: round2(seconds[0]! / seconds[1]!),
        speedup4Over1: round2(seconds[0]! / seconds[2]!),
        publishMegabytesPerSecond: Number(
          (bytes / median(runs.get(`${setting.name}/1`)!.map((r) => r.publishSeconds)) / 1e6)
            .toFixed(1),
        ),
      };
    });
    console.log(JSON.stringify({
      shape: label,
      runtime,
      workers: WORKERS,
      singleProcessBatchesPerSecond: Number((COUNT / single).toFixed(1)),
      settings: rows,
      oneWorkerPerBatch: await breakdown(opened.client, batches.slice(0, Math.min(COUNT, 40))),
      loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
    }));
  }
} finally {
  await opened.close();
  own?.stop();
}
