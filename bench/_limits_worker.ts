/**
 * A thread for `bench/limits.ts`: runs one job per message (an arithmetic
 * loop that touches no memory, a read pass or a copy over part of a shared
 * buffer) and replies with its own elapsed milliseconds.
 *
 * @module
 */

import { parentPort } from "node:worker_threads";

/** A job: `alu` spins `iterations` times; `sum` and `copy` pass `reps` times over [from, to). */
type Job =
  | { kind: "alu"; iterations: number }
  | {
    kind: "sum" | "copy";
    source: SharedArrayBuffer;
    target: SharedArrayBuffer;
    from: number;
    to: number;
    reps: number;
  };

function alu(iterations: number): number {
  let a = 1, b = 2;
  for (let i = 0; i < iterations; i++) {
    a = (a * 1664525 + 1013904223) | 0;
    b = (b ^ (a >>> 7)) | 0;
  }
  return a + b;
}

function sum(x: Float32Array, reps: number): number {
  let total = 0;
  for (let r = 0; r < reps; r++) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    const n = x.length - (x.length % 4);
    for (let i = 0; i < n; i += 4) {
      s0 += x[i]!;
      s1 += x[i + 1]!;
      s2 += x[i + 2]!;
      s3 += x[i + 3]!;
    }
    total += s0 + s1 + s2 + s3;
  }
  return total;
}

parentPort?.on("message", (job: Job) => {
  const t0 = performance.now();
  let value = 0;
  if (job.kind === "alu") {
    value = alu(job.iterations);
  } else {
    const from = new Float32Array(job.source, job.from * 4, job.to - job.from);
    if (job.kind === "sum") {
      value = sum(from, job.reps);
    } else {
      const to = new Float32Array(job.target, job.from * 4, job.to - job.from);
      for (let r = 0; r < job.reps; r++) to.set(from);
      value = to[0]!;
    }
  }
  parentPort!.postMessage({ ms: performance.now() - t0, value });
});
