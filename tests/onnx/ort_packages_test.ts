/**
 * The ONNX Runtime packages as optional peers (one error code, "peer_missing",
 * with the install commands; `"auto"` saying what it found) and the
 * `webgpu-native` provider's checks, with the packages replaced by stand-ins
 * where a missing or failing one must be simulated.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { batchCorr, BatchCorrError, createOnnxBackend } from "../../mod.ts";
import { findVulkanLoader, gpuDeviceNodes, missingCudaFiles } from "../../src/onnx/_gpu_checks.ts";
import { describePackages, setOrtImporters } from "../../src/onnx/_ort_packages.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
const addWeb = isBun ? "bun add onnxruntime-web@^1.30.0" : "deno add npm:onnxruntime-web@^1.30.0";

function notFound(name: string): Error {
  return Object.assign(new Error(`Cannot find package '${name}'`), {
    code: "ERR_MODULE_NOT_FOUND",
  });
}

async function rejection(promise: Promise<unknown>): Promise<BatchCorrError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof BatchCorrError, String(error));
    return error;
  }
  assert.fail("expected a rejection");
}

/** Every test that swaps an importer puts the real ones back. */
after(() => setOrtImporters(undefined));

describe("the ONNX Runtime packages as optional peers", () => {
  test('a provider whose package is missing fails with "peer_missing", naming it and the install commands', async () => {
    setOrtImporters({ "onnxruntime-node": () => Promise.reject(notFound("onnxruntime-node")) });
    try {
      for (const provider of ["cpu", "cuda", "webgpu-native"] as const) {
        const error = await rejection(createOnnxBackend({ provider }));
        assert.equal(error.code, "peer_missing");
        assert.equal(error.details.provider, provider);
        assert.equal(error.details.package, "onnxruntime-node");
        assert.match(
          error.message,
          new RegExp(
            `^Cannot use the ONNX Runtime provider "${provider}" as the optional package onnxruntime-node \\(\\^1\\.30\\.0\\) must be installed: current value is not installed`,
          ),
        );
        assert.match(
          error.message,
          /"deno add npm:onnxruntime-node@\^1\.30\.0" \(Deno\), "bun add onnxruntime-node@\^1\.30\.0" \(Bun\)/,
        );
      }
    } finally {
      setOrtImporters(undefined);
    }
  });

  test("wasm without onnxruntime-web says so the same way", async () => {
    setOrtImporters({ "onnxruntime-web": () => Promise.reject(notFound("onnxruntime-web")) });
    try {
      const error = await rejection(createOnnxBackend({ provider: "wasm" }));
      assert.equal(error.code, "peer_missing");
      assert.match(error.message, /provider "wasm" as the optional package onnxruntime-web/);
    } finally {
      setOrtImporters(undefined);
    }
  });

  test("auto without onnxruntime-web falls back to what onnxruntime-node offers and says what it found", async () => {
    setOrtImporters({ "onnxruntime-web": () => Promise.reject(notFound("onnxruntime-web")) });
    try {
      const backend = await createOnnxBackend({ provider: "auto" });
      try {
        assert.ok(["cpu", "cuda", "webgpu-native"].includes(backend.provider), backend.provider);
        assert.deepEqual(backend.packages.map((p) => [p.name, p.version]), [
          ["onnxruntime-node", "1.30.0"],
          ["onnxruntime-web", undefined],
        ]);
        assert.equal(backend.packages[1]!.reason, "onnxruntime-web is not installed");
        if (backend.provider !== "cuda") {
          assert.ok(
            backend.fallbackReason!.startsWith(
              `found onnxruntime-node 1.30.0; onnxruntime-web not installed (${addWeb}); cuda: `,
            ),
            backend.fallbackReason,
          );
          // webgpu needs onnxruntime-web: said once, in the packages sentence, not as a provider failure.
          assert.doesNotMatch(backend.fallbackReason!, /; webgpu: /);
        }
        const r = await backend.run([[1], [2], [4]], [1, 2, 3]);
        assert.ok(Math.abs(r.data[0]! - 0.9819805060619659) < 1e-4);
      } finally {
        await backend.dispose();
      }
    } finally {
      setOrtImporters(undefined);
    }
  });

  test("auto without onnxruntime-node takes wasm", async () => {
    setOrtImporters({ "onnxruntime-node": () => Promise.reject(notFound("onnxruntime-node")) });
    try {
      const backend = await createOnnxBackend({ provider: "auto" });
      try {
        assert.ok(["webgpu", "wasm"].includes(backend.provider), backend.provider);
        assert.match(
          backend.fallbackReason ?? "",
          /^onnxruntime-node not installed \((bun|deno) add /,
        );
        assert.doesNotMatch(backend.fallbackReason ?? "", /cuda: |cpu: /);
      } finally {
        await backend.dispose();
      }
    } finally {
      setOrtImporters(undefined);
    }
  });

  test('auto with neither package fails with "peer_missing" naming both', async () => {
    setOrtImporters({
      "onnxruntime-node": () => Promise.reject(notFound("onnxruntime-node")),
      "onnxruntime-web": () => Promise.reject(notFound("onnxruntime-web")),
    });
    try {
      const error = await rejection(createOnnxBackend({ provider: "auto" }));
      assert.equal(error.code, "peer_missing");
      assert.deepEqual(error.details.packages, ["onnxruntime-node", "onnxruntime-web"]);
      assert.match(
        error.message,
        /^Cannot create the ONNX backend with provider "auto" \(either package will do\)/,
      );
      assert.match(error.message, /bun add onnxruntime-node@\^1\.30\.0 onnxruntime-web@\^1\.30\.0/);
    } finally {
      setOrtImporters(undefined);
    }
  });

  test("a package that is there but is not ONNX Runtime is refused as installed but unusable", async () => {
    setOrtImporters({ "onnxruntime-node": () => Promise.resolve({ env: {} }) });
    try {
      const error = await rejection(createOnnxBackend({ provider: "cpu" }));
      assert.equal(error.code, "peer_missing");
      assert.equal(error.details.installed, true);
      assert.match(
        error.message,
        /installed but could not be loaded \(the module onnxruntime-node must export InferenceSession and Tensor/,
      );
    } finally {
      setOrtImporters(undefined);
    }
  });

  test("an explicit provider reports the package it ran on", async () => {
    const backend = await createOnnxBackend({ provider: "cpu" });
    try {
      assert.deepEqual(backend.packages, [{
        name: "onnxruntime-node",
        version: "1.30.0",
        reason: undefined,
      }]);
      assert.equal(backend.fallbackReason, undefined);
    } finally {
      await backend.dispose();
    }
  });

  test("describePackages() gives the runtime's own install command", () => {
    assert.equal(
      describePackages([
        { name: "onnxruntime-node", version: "1.30.0", reason: undefined },
        { name: "onnxruntime-web", version: undefined, reason: "onnxruntime-web is not installed" },
      ]),
      `found onnxruntime-node 1.30.0; onnxruntime-web not installed (${addWeb})`,
    );
  });
});

describe('the "webgpu-native" provider (onnxruntime-node\'s own WebGPU, Dawn over Vulkan)', () => {
  const loader = findVulkanLoader();
  const devices = gpuDeviceNodes() ?? [];

  test(
    "without a Vulkan loader it is unavailable, naming libvulkan.so.1, and auto skips it before ONNX Runtime is asked",
    { skip: loader === null ? false : `this machine has a Vulkan loader (${loader})` },
    async () => {
      const error = await rejection(createOnnxBackend({ provider: "webgpu-native" }));
      assert.equal(error.code, "provider_unavailable");
      assert.equal(error.details.provider, "webgpu-native");
      assert.match(
        error.message,
        /^Cannot use the ONNX Runtime provider "webgpu-native" as its WebGPU implementation \(Dawn\) needs the Vulkan loader libvulkan\.so\.1, which is in neither LD_LIBRARY_PATH, the linker cache nor the system library folders; install the GPU driver's Vulkan support/,
      );
    },
  );

  test(
    "with a Vulkan loader and a GPU it runs the graph to batchCorr's values",
    { skip: loader && devices.length > 0 ? false : "needs a Vulkan loader and a GPU device node" },
    async () => {
      let backend;
      try {
        backend = await createOnnxBackend({ provider: "webgpu-native" });
      } catch (error) {
        // A driver without a Vulkan device Dawn accepts: then the reason must say so.
        assert.match(
          (error as Error).message,
          /found no adapter it supports|could not start a WebGPU session/,
        );
        return;
      }
      try {
        const x = [[1, 5], [2, 3], [4, 4], [3, 1]], n = [1, 2, 3, 4];
        const r = await backend.run(x, n, { tol: 0 });
        assert.equal(r.provider, "webgpu-native");
        const expected = batchCorr(x, n, { tol: 0 }).data;
        r.data.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) < 1e-4, `r[${i}]`));
      } finally {
        await backend.dispose();
      }
    },
  );

  test("a loader that is there but an adapter ONNX Runtime cannot get is reported as no supported adapter", async () => {
    // A stand-in onnxruntime-node whose sessions fail as ORT 1.30 does without a usable adapter, and a
    // fake libvulkan.so.1 on LD_LIBRARY_PATH, so the provider gets past the loader check.
    const folder = mkdtempSync(join(tmpdir(), "batch-corr-vulkan-"));
    const saved = process.env.LD_LIBRARY_PATH;
    writeFileSync(join(folder, "libvulkan.so.1"), "");
    process.env.LD_LIBRARY_PATH = folder;
    const message =
      "/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 onnxruntime::webgpu::WebGpuContext::Initialize(const onnxruntime::webgpu::WebGpuContextConfig&)::<lambda()> adapter_result.status == wgpu::RequestAdapterStatus::Success was false. Failed to get a WebGPU adapter: No supported adapters\n";
    let options: Record<string, unknown> | undefined;
    setOrtImporters({
      "onnxruntime-node": () =>
        Promise.resolve({
          env: { versions: { node: "1.30.0" } },
          Tensor: class {},
          InferenceSession: {
            create: (_model: Uint8Array, given: Record<string, unknown>) => {
              options = given;
              return Promise.reject(new Error(message));
            },
          },
        }),
    });
    try {
      const error = await rejection(createOnnxBackend({ provider: "webgpu-native" }));
      assert.equal(error.code, "provider_unavailable");
      assert.deepEqual(options?.executionProviders, ["webgpu"], "ORT's own name of the provider");
      assert.match(
        error.message,
        /"webgpu-native" as ONNX Runtime's WebGPU provider \(Dawn over Vulkan\) found no adapter it supports \(Failed to get a WebGPU adapter: No supported adapters\): the Vulkan loader is there, but no driver offers a Vulkan device Dawn accepts/,
      );
      assert.doesNotMatch(error.message, /onnxruntime_src|\n/);
    } finally {
      setOrtImporters(undefined);
      if (saved === undefined) delete process.env.LD_LIBRARY_PATH;
      else process.env.LD_LIBRARY_PATH = saved;
      rmSync(folder, { recursive: true, force: true });
    }
  });
});

describe("the native GPU checks", () => {
  test("findVulkanLoader() looks in LD_LIBRARY_PATH first, and only on Linux", () => {
    const folder = mkdtempSync(join(tmpdir(), "batch-corr-vulkan-"));
    try {
      writeFileSync(join(folder, "libvulkan.so.1"), "");
      assert.equal(
        findVulkanLoader({ LD_LIBRARY_PATH: `/nonexistent:${folder}` }, "linux"),
        join(folder, "libvulkan.so.1"),
      );
      assert.equal(findVulkanLoader({ LD_LIBRARY_PATH: folder }, "darwin"), undefined);
      assert.equal(findVulkanLoader({}, "win32"), undefined);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test("findVulkanLoader() agrees with the linker cache of this machine", () => {
    let cached = false;
    try {
      cached = readFileSync("/etc/ld.so.cache").includes("libvulkan.so.1");
    } catch {
      // no cache
    }
    const found = findVulkanLoader({}, "linux");
    if (cached) assert.notEqual(found, null);
    else if (found !== null) assert.match(found!, /libvulkan\.so\.1$/);
  });

  test("gpuDeviceNodes() lists only /dev/nvidiaN and /dev/dri/renderDN, and nothing off Linux", () => {
    for (const path of gpuDeviceNodes("linux")!) {
      assert.match(path, /^\/dev\/(nvidia\d+|dri\/renderD\d+)$/);
    }
    assert.equal(gpuDeviceNodes("darwin"), undefined);
  });

  test("missingCudaFiles() names the provider files a folder lacks", () => {
    const folder = mkdtempSync(join(tmpdir(), "batch-corr-cuda-"));
    try {
      assert.deepEqual(missingCudaFiles(folder), [
        join(folder, "libonnxruntime_providers_shared.so"),
        join(folder, "libonnxruntime_providers_cuda.so"),
      ]);
      writeFileSync(join(folder, "libonnxruntime_providers_shared.so"), "");
      assert.deepEqual(missingCudaFiles(folder), [
        join(folder, "libonnxruntime_providers_cuda.so"),
      ]);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
