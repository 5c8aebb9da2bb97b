/**
 * `createOnnxBackend`: loads the ONNX Runtime package a provider needs (only
 * then), with `"auto"` falling back from the fastest provider to the next.
 *
 * @module
 */

import { BatchCorrError, ruleMessage } from "../core/errors.ts";
import { parseOptions } from "../core/parse_options.ts";
import {
  AUTO_PROVIDER_ORDER,
  type OnnxBackend,
  type OnnxBackendOptions,
  type OnnxProvider,
} from "./onnx_backend.ts";
import { OnnxBackendImpl } from "./_onnx_backend_impl.ts";
import {
  BACKEND_RULES,
  backendOptionsSchema,
  PROVIDERS,
  type ResolvedBackendOptions,
} from "./_onnx_options.ts";
import type { ConcreteOnnxProvider, OrtRuntime } from "./_runtime.ts";
import {
  describePackages,
  noOrtPackageError,
  ONNXRUNTIME_NODE,
  ONNXRUNTIME_WEB,
  type OrtPackageModule,
  probeOrtPackages,
  versionOf,
} from "./_ort_packages.ts";

interface Loaded {
  runtime: OrtRuntime;
  module: OrtPackageModule;
  adapter: string | undefined;
}

async function loadRuntime(
  provider: ConcreteOnnxProvider,
  options: ResolvedBackendOptions,
  auto: boolean,
): Promise<Loaded> {
  switch (provider) {
    case "wasm": {
      const { loadWasmRuntime } = await import("./_web_runtime.ts");
      return { ...await loadWasmRuntime(options.threads ?? 1), adapter: undefined };
    }
    case "webgpu": {
      const { loadWebGpuRuntime } = await import("./_web_runtime.ts");
      const loaded = await loadWebGpuRuntime(options.adapterTimeoutMs, auto);
      return { ...loaded, adapter: loaded.runtime.adapterDescription };
    }
    case "cpu":
    case "cuda":
    case "webgpu-native": {
      const { loadNodeRuntime } = await import("./_node_runtime.ts");
      return { ...await loadNodeRuntime(provider, options.threads ?? 0, auto), adapter: undefined };
    }
  }
}

/** The package a provider runs on. */
function packageOf(provider: ConcreteOnnxProvider): string {
  return provider === "wasm" || provider === "webgpu" ? ONNXRUNTIME_WEB : ONNXRUNTIME_NODE;
}

function checkProvider(provider: string): OnnxProvider {
  if (!PROVIDERS.includes(provider)) {
    throw new BatchCorrError(
      "provider_unavailable",
      ruleMessage(
        "create the ONNX backend",
        "options.provider",
        `one of ${BACKEND_RULES.provider}`,
        provider,
      ),
      { details: { provider, reason: "unknown provider" } },
    );
  }
  return provider as OnnxProvider;
}

/**
 * Creates a {@linkcode CorrelationBackend} that runs the exported batch graph
 * (`exportBatchCorrOnnx`) in ONNX Runtime, for `correlateBatches`
 * (`{ backend }`) or direct use through `run`.
 *
 * `onnxruntime-web` (`"wasm"`, `"webgpu"`) and `onnxruntime-node` (`"cpu"`,
 * `"cuda"`, `"webgpu-native"`) are optional peer packages imported here,
 * lazily: code that never calls this never loads them. One session is
 * created per batch shape `(F, M)` on first use (B may vary) and kept until
 * `dispose`. The graph runs in float32 on data shifted per column on the host
 * (SPEC section 6); the running accumulator stays in float64 TypeScript.
 *
 * `"auto"` imports both packages (`packages` says what it found), then tries
 * `"cuda"`, `"webgpu-native"` (where a GPU device node exists), `"webgpu"`
 * (hardware adapters only), `"cpu"` and `"wasm"` in that order, and records
 * in `fallbackReason` the packages found and why each skipped provider could
 * not be used.
 *
 * @param options The provider, `abs` and zero-variance policy of `run`,
 * thread count, adapter time limit.
 * @returns The backend, ready to run.
 * @throws {TypeError} If an option has a wrong type or an unknown key.
 * @throws {RangeError} If `threads` or `adapterTimeoutMs` is out of range.
 * @throws {BatchCorrError} `peer_missing` when the provider's package (with
 * `"auto"`: both) is not installed or cannot load, naming it and the command
 * that installs it; `provider_unavailable`, naming the provider and the
 * reason, for an unknown provider, a runtime without WebGPU or without an
 * adapter, no Vulkan loader, missing CUDA files or libraries (naming the
 * files and the folder they belong in), or, with `"auto"`, when none works.
 *
 * @example Picking the fastest available provider
 * ```ts
 * import { createOnnxBackend } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const backend = await createOnnxBackend({ provider: "auto" });
 * try {
 *   assert.ok(["cuda", "webgpu-native", "webgpu", "cpu", "wasm"].includes(backend.provider));
 *   console.log(backend.packages.map((p) => `${p.name} ${p.version ?? "missing"}`));
 *   if (backend.fallbackReason) console.log(`using ${backend.provider}: ${backend.fallbackReason}`);
 * } finally {
 *   await backend.dispose();
 * }
 * ```
 */
export async function createOnnxBackend(options?: OnnxBackendOptions): Promise<OnnxBackend> {
  const context = "create the ONNX backend";
  const resolved = parseOptions(backendOptionsSchema, options, context, BACKEND_RULES);
  const provider = checkProvider(resolved.provider);
  if (provider !== "auto") {
    const { runtime, module, adapter } = await loadRuntime(provider, resolved, false);
    const name = packageOf(provider);
    const packages = [{ name, version: versionOf(module, name), reason: undefined }];
    return new OnnxBackendImpl(runtime, resolved, { fallbackReason: undefined, adapter, packages });
  }
  return await createAuto(resolved);
}

async function createAuto(resolved: ResolvedBackendOptions): Promise<OnnxBackend> {
  const { packages, firstError } = await probeOrtPackages();
  const found = new Set(packages.filter((p) => p.version !== undefined).map((p) => p.name));
  // Neither package: no provider can run, and the fix is an install.
  if (found.size === 0) throw noOrtPackageError(firstError?.cause ?? firstError);
  const reasons = [describePackages(packages)];
  for (const candidate of AUTO_PROVIDER_ORDER) {
    if (!found.has(packageOf(candidate))) continue; // said once, in the packages sentence
    try {
      const { runtime, adapter } = await loadRuntime(candidate, resolved, true);
      const fallbackReason = reasons.length > 1 ? reasons.join("; ") : undefined;
      return new OnnxBackendImpl(runtime, resolved, { fallbackReason, adapter, packages });
    } catch (error) {
      if (!(error instanceof BatchCorrError)) throw error;
      reasons.push(`${candidate}: ${error.message}`);
    }
  }
  throw new BatchCorrError(
    "provider_unavailable",
    `Cannot create the ONNX backend as "auto" must find a working provider: none worked (${
      reasons.join("; ")
    })`,
    { details: { provider: "auto", reason: reasons.join("; "), packages } },
  );
}
