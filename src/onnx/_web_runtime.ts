/**
 * `onnxruntime-web` providers: `wasm` (every runtime) and `webgpu` (where
 * `navigator.gpu` exists, as in Deno and browsers). The package is imported
 * only when one of them is asked for.
 *
 * @module
 */

import { BatchCorrError } from "../core/errors.ts";
import { loadOrtPackage, ONNXRUNTIME_WEB, type OrtPackageModule } from "./_ort_packages.ts";
import { type OrtRuntime, reasonOf, runtimeOf, withTimeout } from "./_runtime.ts";

/** The parts of a WebGPU adapter read here (typed locally: Bun has no WebGPU types). */
interface GpuAdapterLike {
  readonly info?: {
    readonly description?: string;
    readonly vendor?: string;
    readonly isFallbackAdapter?: boolean;
  };
}

interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}

/** A WebGPU runtime and facts about the adapter it runs on. */
export interface WebGpuRuntime extends OrtRuntime {
  /** The adapter's description (e.g. "llvmpipe (LLVM 15.0.6, 256 bits)"). */
  readonly adapterDescription: string;
  /** Whether the adapter is a software (fallback) rasteriser rather than a GPU. */
  readonly softwareAdapter: boolean;
}

function unavailable(provider: string, reason: string, cause?: unknown): BatchCorrError {
  return new BatchCorrError(
    "provider_unavailable",
    `Cannot use the ONNX Runtime provider "${provider}" as ${reason}`,
    { cause, details: { provider, reason } },
  );
}

/**
 * Loads `onnxruntime-web` on WebAssembly.
 *
 * `env.wasm.numThreads` is global to the package and read once, when its
 * WebAssembly module starts: single-threaded by default because threads need
 * cross-origin isolation in browsers and gain nothing on small batches.
 *
 * @param threads WebAssembly threads.
 * @returns The runtime and the module.
 * @throws {BatchCorrError} `peer_missing` if the package cannot load.
 */
export async function loadWasmRuntime(
  threads: number,
): Promise<{ runtime: OrtRuntime; module: OrtPackageModule }> {
  const ort = await loadOrtPackage(ONNXRUNTIME_WEB, "wasm");
  (ort.env as unknown as { wasm: { numThreads: number } }).wasm.numThreads = threads;
  return { runtime: runtimeOf(ort, "wasm", { executionProviders: ["wasm"] }), module: ort };
}

async function requestAdapter(timeoutMs: number): Promise<GpuAdapterLike> {
  const gpu = (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) {
    throw unavailable(
      "webgpu",
      'this runtime exposes no WebGPU API (navigator.gpu is absent; "webgpu-native", onnxruntime-node\'s own WebGPU, needs none)',
    );
  }
  let adapter: GpuAdapterLike | null;
  try {
    adapter = await withTimeout(gpu.requestAdapter(), timeoutMs, "navigator.gpu.requestAdapter()");
  } catch (error) {
    throw unavailable("webgpu", `no WebGPU adapter could be obtained: ${reasonOf(error)}`, error);
  }
  if (!adapter) {
    throw unavailable("webgpu", "navigator.gpu.requestAdapter() found no WebGPU adapter");
  }
  return adapter;
}

/**
 * Loads `onnxruntime-web`'s WebGPU build on the adapter `navigator.gpu`
 * offers, after checking there is one (with a time limit, so a runtime whose
 * adapter request never settles cannot hang the caller).
 *
 * @param timeoutMs How long to wait for the adapter.
 * @param hardwareOnly Refuse a software (fallback) adapter, before loading ORT.
 * @returns The runtime (with its adapter's description) and the module.
 * @throws {BatchCorrError} `provider_unavailable` without WebGPU, without an
 * adapter (or with only a software one when `hardwareOnly`); `peer_missing`
 * if the package cannot load.
 */
export async function loadWebGpuRuntime(
  timeoutMs: number,
  hardwareOnly: boolean,
): Promise<{ runtime: WebGpuRuntime; module: OrtPackageModule }> {
  const adapter = await requestAdapter(timeoutMs);
  const description = adapter.info?.description || adapter.info?.vendor || "unknown adapter";
  if (hardwareOnly && adapter.info?.isFallbackAdapter === true) {
    throw unavailable(
      "webgpu",
      `the only WebGPU adapter is a software rasteriser (${description}), slower than the CPU`,
    );
  }
  const ort = await loadOrtPackage("onnxruntime-web/webgpu", "webgpu");
  // Hand ORT the adapter already found rather than letting it request another.
  (ort.env as unknown as { webgpu: { adapter: unknown } }).webgpu.adapter = adapter;
  const runtime = runtimeOf(ort, "webgpu", { executionProviders: ["webgpu"] });
  return {
    runtime: {
      ...runtime,
      adapterDescription: description,
      softwareAdapter: adapter.info?.isFallbackAdapter === true,
    },
    module: ort,
  };
}
