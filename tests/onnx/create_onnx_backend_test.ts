import { after, before, describe, test } from "node:test";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import onnxProto from "onnx-proto";
import {
  autoTol,
  batchCorr,
  BatchCorrError,
  BatchCorrStream,
  type BatchResult,
  correlateBatches,
  createOnnxBackend,
  exportBatchCorrOnnx,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type OnnxBackend,
} from "../../mod.ts";
import type { PreparedBatch } from "../../src/core/prepare_batch.ts";
import { computeBatchMoments } from "../../src/kernels/compute_batch_moments.ts";
import { prepareBatch } from "../../src/core/prepare_batch.ts";
import { mulberry32 } from "../random.ts";
import { shiftedPearson } from "../fuzz_support.ts";

/** The float64 mean of feature f of a row-major (B, F) batch, shifted by its first value. */
function mean(x: ArrayLike<number>, B: number, F: number, f: number): number {
  let sum = 0;
  for (let b = 0; b < B; b++) sum += x[b * F + f]! - x[f]!;
  return x[f]! + sum / B;
}

const { onnx } = onnxProto;
const PARITY = 1e-4;
const hasWebGpu =
  typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === "object";
if (!hasWebGpu) {
  console.log(
    "onnx_test: WebGPU parity skipped, navigator.gpu is absent in this runtime (no WebGPU API)",
  );
}

interface RandomBatch {
  x: { data: Float64Array; shape: number[] };
  n: { data: Float64Array; shape: number[] };
}

/**
 * A batch whose confounds are driven up by one feature and down by the next
 * (so the correlations above the threshold come in both signs, and a lost
 * sign under `abs: false` shows), with one constant feature and, when M > 1,
 * one constant confound.
 */
function randomBatch(seed: number, B: number, featureShape: number[], M: number): RandomBatch {
  const random = mulberry32(seed);
  const F = featureShape.reduce((a, b) => a * b, 1);
  const x = Float64Array.from({ length: B * F }, () => random() * 4 - 2);
  for (let b = 0; b < B; b++) x[b * F + (F - 1)] = 0.1;
  const n = new Float64Array(M * B);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < B; b++) {
      n[m * B + b] = m === 1
        ? 3
        : (x[b * F + (m % F)]! - x[b * F + ((m + 1) % F)]!) * (m + 2) + random();
    }
  }
  return { x: { data: x, shape: [B, ...featureShape] }, n: { data: n, shape: [M, B] } };
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: number,
  what: string,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    assert.ok(
      diff <= tolerance,
      `${what}[${i}]: ${actual[i]} vs ${expected[i]} (relative diff ${diff})`,
    );
  }
}

/** Checks `run` against batchCorr and `computeMoments` against the TypeScript kernel. */
async function assertParity(
  backend: OnnxBackend,
  batch: RandomBatch,
  options: { abs: boolean },
): Promise<void> {
  const label = `${backend.provider} B=${batch.x.shape[0]} X=${batch.x.shape.slice(1)} M=${
    batch.n.shape[0]
  }`;
  const result = await backend.run(batch.x, batch.n, { tol: "auto" });
  const expected = batchCorr(batch.x, batch.n, { tol: "auto", abs: options.abs });
  const expectedRaw = batchCorr(batch.x, batch.n, { abs: false });
  assert.deepEqual(result.shape, expected.shape);
  assert.equal(result.tol, autoTol(batch.x.shape[0]!));
  assert.ok(Math.abs(result.tol - expected.tol) < 1e-15);
  if (!options.abs) {
    // Inputs of both signs: a graph that drops the sign cannot pass.
    assert.ok(
      expected.data.some((v) => v > 0.05) && expected.data.some((v) => v < -0.05),
      `${label}: thresholded correlations of both signs`,
    );
  }
  assertClose(result.data, expected.data, PARITY, `${label} thresholded`);
  assertClose(result.raw, expectedRaw.data, PARITY, `${label} raw`);
  assert.equal(result.zeroVarianceFeatures, expected.zeroVarianceFeatures);
  assert.equal(result.zeroVarianceConfounds, expected.zeroVarianceConfounds);

  const prepared = prepareBatch(batch.x, batch.n, "test");
  const moments = await backend.computeMoments(prepared);
  const reference = computeBatchMoments(
    prepared.x,
    prepared.n,
    prepared.count,
    prepared.features,
    prepared.confounds,
  );
  assert.equal(moments.count, reference.count);
  assert.equal(moments.features, reference.features);
  assert.equal(moments.confounds, reference.confounds);
  for (const key of ["meanX", "meanN", "m2X", "m2N", "comoment"] as const) {
    assert.ok(moments[key] instanceof Float64Array, `${label} ${key} is float64 storage`);
    assertClose(moments[key], reference[key], PARITY, `${label} ${key}`);
  }
  // Exactly constant columns stay exactly 0, as in the TypeScript kernel.
  assert.equal(moments.m2X[prepared.features - 1], 0);
  if (prepared.confounds > 1) assert.equal(moments.m2N[1], 0);
}

async function expectUnavailable(
  promise: Promise<unknown>,
  provider: string,
  reason: RegExp,
): Promise<BatchCorrError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof BatchCorrError, `expected a BatchCorrError, got ${caught}`);
  assert.equal(caught.code, "provider_unavailable");
  assert.equal(caught.details.provider, provider);
  assert.match(caught.message, new RegExp(`"${provider}"`));
  assert.match(caught.message, reason);
  return caught;
}

describe("exportBatchCorrOnnx()", () => {
  test("writes the same bytes whatever Object.prototype holds under the names of optional proto fields", () => {
    const expected = exportBatchCorrOnnx({ features: 3, confounds: 2 });
    const proto = Object.prototype as Record<string, unknown>;
    for (
      const [key, value] of [["dimValue", 7], ["floatData", [1]], ["int64Data", [1]], ["i", 3], [
        "ints",
        [1],
      ]] as const
    ) {
      Object.defineProperty(proto, key, { value, writable: true, configurable: true });
      try {
        assert.deepEqual(exportBatchCorrOnnx({ features: 3, confounds: 2 }), expected, key);
      } finally {
        delete proto[key];
      }
    }
  });

  test("writes a ModelProto with the documented IR version, opset, inputs and outputs", () => {
    const model = onnx.ModelProto.decode(exportBatchCorrOnnx({ features: 7, confounds: 2 }));
    assert.equal(Number(model.irVersion), ONNX_IR_VERSION);
    assert.deepEqual(model.opsetImport.map((o) => [o.domain, Number(o.version)]), [[
      "",
      ONNX_OPSET,
    ]]);
    const graph = model.graph!;
    const dims = (info: onnxProto.onnx.IValueInfoProto) =>
      info.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    assert.deepEqual(graph.input!.map((i) => [i.name, dims(i)]), [["x", ["batch", 7]], ["n", [
      2,
      "batch",
    ]], ["tol", []]]);
    assert.deepEqual(graph.output!.map((o) => [o.name, dims(o)]), [
      ["raw", [7, 2]],
      ["thresholded", [7, 2]],
      ["mean_x", [7]],
      ["mean_n", [2]],
      ["m2_x", [7]],
      ["m2_n", [2]],
      ["comoment", [7, 2]],
    ]);
    assert.ok(
      !graph.initializer!.some((t) => t.name === "tol"),
      "tol is a plain input, fed on every run",
    );
    // Every node input is a graph input, an initializer or an earlier node's output.
    const known = new Set([
      ...graph.input!.map((i) => i.name),
      ...graph.initializer!.map((t) => t.name),
    ]);
    for (const node of graph.node!) {
      for (const input of node.input!) {
        assert.ok(known.has(input), `${node.name} reads ${input} before it exists`);
      }
      for (const output of node.output!) known.add(output);
    }
    for (const output of graph.output!) assert.ok(known.has(output.name));
  });

  test("bakes abs: false in as a Sign node and zeroVariance: nan as a final Where", () => {
    const ops = (options: Parameters<typeof exportBatchCorrOnnx>[0]) =>
      onnx.ModelProto.decode(exportBatchCorrOnnx(options)).graph!.node!.map((n) => n.opType);
    assert.ok(!ops({ features: 2, confounds: 1 }).includes("Sign"));
    assert.ok(ops({ features: 2, confounds: 1, abs: false }).includes("Sign"));
    const nan = onnx.ModelProto.decode(
      exportBatchCorrOnnx({ features: 2, confounds: 1, zeroVariance: "nan" }),
    ).graph!;
    assert.equal(nan.node!.find((n) => n.output![0] === "thresholded")!.opType, "Where");
    assert.ok(
      Number.isNaN(nan.initializer!.find((t) => t.name === "degenerate_value")!.floatData![0]),
    );
  });

  test("writes protobufjs' own encoding of the model: decoding and re-encoding with onnx-proto gives the same bytes", () => {
    for (const [features, confounds] of [[1, 1], [3, 1], [7, 2], [300, 5], [100000, 8]] as const) {
      for (const abs of [true, false]) {
        for (const zeroVariance of ["zero", "nan"] as const) {
          const bytes = exportBatchCorrOnnx({ features, confounds, abs, zeroVariance });
          const again = onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish();
          assert.deepEqual(
            new Uint8Array(again),
            bytes,
            `${features}x${confounds} ${abs} ${zeroVariance}`,
          );
        }
      }
    }
  });

  test("keeps the bytes of the onnx-proto exporter it replaced (SHA-256 prefixes)", () => {
    // Recorded from exportBatchCorrOnnx built on onnx-proto 8.0.1 (commit 6c5aa16), before the
    // hand-written writer: the same options must give the same file.
    const recorded: Record<string, string> = {
      "1x1 true zero": "b1bb48f98626f619",
      "1x1 false nan": "918a4057e3a40454",
      "7x2 true nan": "a11daacd488fcd94",
      "300x5 false zero": "9899c0a3702722da",
      "100000x8 true zero": "68d1dfefe7d10bff",
    };
    for (const [key, hash] of Object.entries(recorded)) {
      const [shape, abs, zeroVariance] = key.split(" ") as [string, string, "zero" | "nan"];
      const [features, confounds] = shape.split("x").map(Number) as [number, number];
      const bytes = exportBatchCorrOnnx({ features, confounds, abs: abs === "true", zeroVariance });
      assert.equal(createHash("sha256").update(bytes).digest("hex").slice(0, 16), hash, key);
    }
  });

  test("rejects a non-positive or fractional F and an unknown key such as tol", () => {
    assert.throws(() => exportBatchCorrOnnx({ features: 0, confounds: 1 }), RangeError);
    assert.throws(() => exportBatchCorrOnnx({ features: 2.5, confounds: 1 }), RangeError);
    assert.throws(
      () => exportBatchCorrOnnx({ features: 2, confounds: 1, shape: 3 } as never),
      TypeError,
    );
    assert.throws(
      () => exportBatchCorrOnnx({ features: 2, confounds: 1, tol: 0.1 } as never),
      /known keys .*current value has "tol"/,
    );
  });
});

describe("createOnnxBackend() on wasm", () => {
  let backend: OnnxBackend;
  before(async () => {
    backend = await createOnnxBackend({ provider: "wasm" });
  });
  after(() => backend.dispose());

  test("matches batchCorr and computeBatchMoments to 1e-4 on random batches", async () => {
    assert.equal(backend.provider, "wasm");
    assert.equal(backend.fallbackReason, undefined);
    await assertParity(backend, randomBatch(1, 23, [6], 3), { abs: true });
    await assertParity(backend, randomBatch(2, 40, [6], 3), { abs: true }); // same session, another B
    await assertParity(backend, randomBatch(3, 12, [2, 3], 1), { abs: true }); // hypercoil's feature order
    assert.equal(backend.sessions, 2);
  });

  test("rejects mismatched shapes with the TypeErrors of batchCorr", async () => {
    const x = { data: new Float64Array(12), shape: [4, 3] };
    await assert.rejects(
      backend.run(x, [1, 2, 3, 4, 5]),
      /N must have one value per sample of X \(B = 4\)/,
    );
    await assert.rejects(
      backend.run(x, { data: new Float64Array(8), shape: [4, 2] }),
      /looks like \(B, M\)/,
    );
    const inconsistent: PreparedBatch = {
      ...prepareBatch(x, [1, 2, 3, 4], "test"),
      features: 4,
    };
    await assert.rejects(backend.computeMoments(inconsistent), TypeError);
  });

  test("reports NaN by index and float32 overflow as RangeErrors", async () => {
    const x = [[1, 2], [3, Number.NaN], [5, 6]];
    await assert.rejects(
      backend.run(x, [1, 2, 4]),
      /finite .*current value is NaN at index \[1, 1\]/,
    );
    const huge = [[1e30, 1], [-1e30, 2], [3e30, 4]];
    await assert.rejects(
      backend.run(huge, [1, 2, 4]),
      /squared deviations of feature column 0 of X must be a float32 sum .* for the wasm provider: current value is Infinity although the column varies/,
    );
  });
});

describe("createOnnxBackend() on cpu (onnxruntime-node)", () => {
  test("matches batchCorr and computeBatchMoments to 1e-4, with abs false and several threads", async () => {
    const backend = await createOnnxBackend({ provider: "cpu", abs: false, threads: 2 });
    try {
      assert.equal(backend.provider, "cpu");
      await assertParity(backend, randomBatch(4, 31, [5], 2), { abs: false });
      await assertParity(backend, randomBatch(51, 9, [3, 2], 1), { abs: false });
    } finally {
      await backend.dispose();
    }
    assert.equal(backend.sessions, 0);
    await assert.rejects(
      backend.run([[1], [2], [3]], [1, 2, 4]),
      (error: unknown) =>
        error instanceof BatchCorrError && error.code === "backend_failed" &&
        /disposed/.test(error.message),
    );
  });

  test("reports a zero-variance correlation as NaN with zeroVariance: nan", async () => {
    const backend = await createOnnxBackend({ provider: "cpu", zeroVariance: "nan" });
    try {
      const result = await backend.run([[1, 5], [2, 5], [4, 5]], [1, 2, 4]);
      const expected = batchCorr([[1, 5], [2, 5], [4, 5]], [1, 2, 4], { zeroVariance: "nan" });
      assert.ok(Math.abs(result.data[0]! - expected.data[0]!) < PARITY);
      assert.ok(Number.isNaN(result.data[1]!) && Number.isNaN(expected.data[1]!));
      assert.equal(result.zeroVarianceFeatures, 1);
    } finally {
      await backend.dispose();
    }
  });
});

describe("createOnnxBackend() on columns far from zero (SPEC section 6)", () => {
  /** base + spread·(noise driven by n), features and confounds, both signs, base/spread to 1e8. */
  function offsetBatch(seed: number, spread: number) {
    const random = mulberry32(seed);
    const B = 64, M = 2;
    const bases = [1e6, -1e6, 1e7, -3e7, 1e8, -1e8, 1e5, -2e5];
    const F = bases.length;
    const n = new Float64Array(M * B);
    for (let b = 0; b < B; b++) {
      n[b] = -1e6 + random(); // an offset confound: base/spread 1e6
      n[B + b] = random() - 0.5;
    }
    const x = new Float64Array(B * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        const driven = (f % 2 === 0 ? 1 : -1) * (n[b]! + 1e6) + (random() - 0.5) + 0.5 * n[B + b]!;
        x[b * F + f] = bases[f]! * spread + spread * driven;
      }
    }
    return { x, n, B, F, M };
  }

  for (const provider of ["cpu", "wasm"] as const) {
    test(`${provider}: 1e6 + 0.01·noise and kin keep r within 1e-4 (float64 and float32 input)`, async () => {
      const backend = await createOnnxBackend({ provider, abs: false });
      try {
        for (const spread of [0.01, 1, 300]) {
          const { x, n, B, F, M } = offsetBatch(40, spread);
          for (const data of [x, new Float32Array(x)]) {
            const X = { data, shape: [B, F] }, N = { data: n, shape: [M, B] };
            const result = await backend.run(X, N, { tol: 0 });
            const expected = shiftedPearson(data, n, B, F, M);
            assertClose(result.raw, expected, PARITY, `${provider} spread ${spread}`);
            // The planted correlations are strong, so a lost digit cannot hide near 0.
            assert.ok(expected[0]! > 0.5 && expected[2]! < -0.5); // (F, M): features 0 and 1 on confound 0
            const exact = batchCorr(X, N, { abs: false, tol: 0 });
            assertClose(result.data, exact.data, PARITY, `${provider} vs batchCorr`);
            // Means come back in float64 with the shift added, not float32's rounding of 1e8·spread.
            for (let f = 0; f < F; f++) {
              const error = Math.abs(result.moments.meanX[f]! - mean(data, B, F, f));
              assert.ok(
                error <= 1e-6 * spread,
                `${provider} mean of feature ${f}: off by ${error}`,
              );
            }
          }
        }
      } finally {
        await backend.dispose();
      }
    });
  }

  test("a stream on the cpu backend folds far-from-zero batches without skipping, as the TypeScript kernel", async () => {
    const batches = [1, 2, 3].map((seed) => {
      const { x, n, B, F, M } = offsetBatch(seed, 0.01);
      return { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
    });
    const backend = await createOnnxBackend({ provider: "cpu" });
    try {
      const options = { tol: 0, abs: false } as const;
      const viaBackend: BatchResult[] = [];
      for await (const r of correlateBatches(batches, { ...options, backend })) viaBackend.push(r);
      const direct: BatchResult[] = [];
      for await (const r of correlateBatches(batches, options)) direct.push(r);
      assert.equal(viaBackend.length, 3);
      viaBackend.forEach((r, i) =>
        assertClose(
          r.running.correlations!.data,
          direct[i]!.running.correlations!.data,
          PARITY,
          `running view at batch ${i}`,
        )
      );
    } finally {
      await backend.dispose();
    }
  });

  test("refuses by name a column that float32 cannot carry even shifted, on features and confounds", async () => {
    const backend = await createOnnxBackend({ provider: "cpu" });
    try {
      const tiny = [[1e-20, 1], [-2e-20, 2], [3e-20, 4], [0, 3]]; // squares near 1e-40: float32 subnormals
      await assert.rejects(
        backend.run(tiny, [1, 2, 4, 3]),
        (error: unknown) =>
          error instanceof RangeError &&
          /feature column 0 of X must be a float32 sum between 7\.9e-31 and 1\.3e\+30/.test(
            error.message,
          ) &&
          /although the column varies; rescale it/.test(error.message),
      );
      // A confound with deviations near 1e-25: their squares underflow float32 to 0.
      const flat = [[5, 1], [5 + 1e-14, 2], [5, 4], [5, 3]];
      await assert.rejects(
        backend.run(flat, [1e-25, 2e-25, 3e-25, 5e-25]),
        /confound 0 of N must be/,
      );
      // A constant column is fine (zero variance), however far from zero.
      const constant = await backend.run([[1e30, 1], [1e30, 2], [1e30, 4]], [1, 2, 4]);
      assert.equal(constant.zeroVarianceFeatures, 1);
      assert.equal(constant.moments.meanX[0], 1e30);
    } finally {
      await backend.dispose();
    }
  });
});

describe("createOnnxBackend() on webgpu", () => {
  test(
    "matches batchCorr and computeBatchMoments to 1e-4 on a small batch",
    { skip: hasWebGpu ? false : "navigator.gpu is absent in this runtime (no WebGPU API)" },
    async () => {
      const backend = await createOnnxBackend({ provider: "webgpu" });
      try {
        assert.equal(backend.provider, "webgpu");
        assert.equal(typeof backend.adapter, "string");
        await assertParity(backend, randomBatch(6, 16, [4], 2), { abs: true });
      } finally {
        await backend.dispose();
      }
    },
  );

  test(
    "fails with provider_unavailable where navigator.gpu is absent",
    { skip: hasWebGpu ? "this runtime has navigator.gpu" : false },
    async () => {
      await expectUnavailable(
        createOnnxBackend({ provider: "webgpu" }),
        "webgpu",
        /navigator\.gpu is absent/,
      );
    },
  );
});

describe("createOnnxBackend() errors and auto", () => {
  test("rejects an unknown provider with provider_unavailable naming it", async () => {
    const error = await expectUnavailable(
      createOnnxBackend({ provider: "tpu" as never }),
      "tpu",
      /must be one of "auto", "cuda"/,
    );
    assert.equal(error.details.reason, "unknown provider");
  });

  test("rejects wrongly typed or out-of-range options", async () => {
    await assert.rejects(createOnnxBackend({ provider: 5 as never }), TypeError);
    await assert.rejects(createOnnxBackend({ provider: "wasm", threads: -1 }), RangeError);
    await assert.rejects(createOnnxBackend({ provider: "wasm", adapterTimeoutMs: 0 }), RangeError);
  });

  test("uses CUDA where it works, and otherwise says which files are missing and where they go", async () => {
    let backend: OnnxBackend | undefined;
    try {
      backend = await createOnnxBackend({ provider: "cuda" });
    } catch (error) {
      assert.ok(
        error instanceof BatchCorrError && error.code === "provider_unavailable",
        String(error),
      );
      assert.equal(error.details.provider, "cuda");
      assert.match(error.message, /^Cannot use the ONNX Runtime provider "cuda" as .*(CUDA|cuda)/);
      if (Array.isArray(error.details.missingFiles)) {
        // The npm package ships no CUDA provider (this machine): the files and their folder are named.
        assert.match(
          error.message,
          /libonnxruntime_providers_shared\.so and libonnxruntime_providers_cuda\.so must be in \S+onnxruntime-node\/bin\/napi-v6\/linux\/x64, next to onnxruntime_binding\.node: current folder has neither/,
        );
        assert.match(error.message, /Microsoft\.ML\.OnnxRuntime\.Gpu\.Linux 1\.30\.0/);
        assert.doesNotMatch(error.message, /CUDA 1\d/, "no CUDA version that was not checked");
      }
      return;
    }
    try {
      await assertParity(backend, randomBatch(7, 20, [3], 2), { abs: true });
    } finally {
      await backend.dispose();
    }
  });

  test("auto takes a working provider, lists the packages it found and why it skipped faster ones", async () => {
    const backend = await createOnnxBackend({ provider: "auto" });
    try {
      assert.ok(["cuda", "webgpu-native", "webgpu", "cpu", "wasm"].includes(backend.provider));
      assert.deepEqual(backend.packages.map((p) => [p.name, p.version]), [
        ["onnxruntime-node", "1.30.0"],
        ["onnxruntime-web", "1.30.0"],
      ]);
      if (backend.provider !== "cuda") {
        assert.match(
          backend.fallbackReason ?? "",
          /^found onnxruntime-node 1\.30\.0; found onnxruntime-web 1\.30\.0; cuda: Cannot use the ONNX Runtime provider "cuda"/,
        );
      }
      if (backend.provider === "cpu") {
        assert.match(backend.fallbackReason ?? "", /; webgpu-native: Cannot use .*; webgpu: /);
      }
      await assertParity(backend, randomBatch(8, 10, [3], 1), { abs: true });
    } finally {
      await backend.dispose();
    }
  });
});

describe("streams with an ONNX backend", () => {
  const batches = Array.from(
    { length: 6 },
    (_, i) => randomBatch(20 + i, 5 + ((i * 7) % 19), [2, 3], 2),
  );
  const options = { tol: "auto", decay: 0.8 } as const;

  async function collect(results: AsyncIterable<BatchResult>): Promise<BatchResult[]> {
    const out: BatchResult[] = [];
    for await (const result of results) out.push(result);
    return out;
  }

  function assertSameStream(viaBackend: BatchResult[], direct: BatchResult[]): void {
    assert.equal(viaBackend.length, direct.length);
    viaBackend.forEach((result, i) => {
      const expected = direct[i]!;
      const label = `batch ${i}`;
      assert.equal(result.count, expected.count);
      assert.equal(result.tol, expected.tol);
      assert.equal(result.running.tol, expected.running.tol);
      assert.ok(
        Math.abs(result.loss - expected.loss) <= PARITY,
        `${label} loss ${result.loss} vs ${expected.loss}`,
      );
      assert.ok(
        Math.abs(result.running.loss - expected.running.loss) <= PARITY,
        `${label} running loss`,
      );
      assertClose(
        result.correlations!.data,
        expected.correlations!.data,
        PARITY,
        `${label} batch view`,
      );
      assertClose(
        result.running.correlations!.data,
        expected.running.correlations!.data,
        PARITY,
        `${label} running view`,
      );
      assertClose(
        result.window!.correlations!.data,
        expected.window!.correlations!.data,
        PARITY,
        `${label} window view`,
      );
      // The constant feature and confound stay exactly zero-variance across merges.
      assert.equal(result.running.correlations!.zeroVarianceFeatures, 1);
      assert.equal(result.running.correlations!.zeroVarianceConfounds, 1);
    });
  }

  for (const provider of ["cpu", "wasm"] as const) {
    test(`correlateBatches gives the results of the TypeScript kernel to 1e-4 on ${provider}`, async () => {
      const backend = await createOnnxBackend({ provider });
      try {
        const viaBackend = await collect(correlateBatches(batches, { ...options, backend }));
        assertSameStream(viaBackend, await collect(correlateBatches(batches, options)));
        assert.equal(backend.sessions, 1);
      } finally {
        await backend.dispose();
      }
    });
  }

  test("BatchCorrStream uses the backend for each batch", async () => {
    const backend = await createOnnxBackend({ provider: "cpu" });
    try {
      const source = () =>
        new ReadableStream({
          start(controller) {
            for (const batch of batches) controller.enqueue(batch);
            controller.close();
          },
        });
      const read = async (stream: ReadableStream<BatchResult>) => {
        const out: BatchResult[] = [];
        const reader = stream.getReader();
        for (let next = await reader.read(); !next.done; next = await reader.read()) {
          out.push(next.value);
        }
        return out;
      };
      const viaBackend = await read(
        source().pipeThrough(new BatchCorrStream({ ...options, backend })),
      );
      assertSameStream(viaBackend, await read(source().pipeThrough(new BatchCorrStream(options))));
    } finally {
      await backend.dispose();
    }
  });
});
