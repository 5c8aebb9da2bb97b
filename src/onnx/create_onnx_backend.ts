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
import type { ConcreteOnnxProvider } from "./_runtime.ts";

async function loadRuntime(
  provider: ConcreteOnnxProvider,
  options: ResolvedBackendOptions,
  auto: boolean,
) {
  switch (provider) {
    case "wasm": {
      const { loadWasmRuntime } = await import("./_web_runtime.ts");
      return { runtime: await loadWasmRuntime(options.threads ?? 1), adapter: undefined };
    }
    case "webgpu": {
      const { loadWebGpuRuntime } = await import("./_web_runtime.ts");
      const runtime = await loadWebGpuRuntime(options.adapterTimeoutMs, auto);
      return { runtime, adapter: runtime.adapterDescription };
    }
    case "cpu":
    case "cuda": {
      const { loadNodeRuntime } = await import("./_node_runtime.ts");
      return { runtime: await loadNodeRuntime(provider, options.threads ?? 0), adapter: undefined };
    }
  }
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
 * `"cuda"`) are imported here, lazily: code that never calls this never loads
 * them. One session is created per batch shape `(F, M)` on first use (B may
 * vary) and kept until `dispose`. The graph runs in
 * float32; the running accumulator stays in float64 TypeScript.
 *
 * `"auto"` tries `"cuda"`, `"webgpu"` (hardware adapters only), `"cpu"` and
 * `"wasm"` in that order and records in `fallbackReason` why each skipped
 * provider could not be used.
 *
 * @param options The provider, `abs` and zero-variance policy of `run`,
 * thread count, adapter time limit.
 * @returns The backend, ready to run.
 * @throws {TypeError} If an option has a wrong type or an unknown key.
 * @throws {RangeError} If `threads` or `adapterTimeoutMs` is out of range.
 * @throws {BatchCorrError} `provider_unavailable`, naming the provider and the
 * reason, for an unknown provider, a runtime without WebGPU or without an
 * adapter, missing CUDA files or libraries, or a package that cannot load
 * (with `"auto"`: when none works).
 *
 * @example Picking the fastest available provider
 * ```ts
 * import { createOnnxBackend } from "@streamcorr/batch-corr";
 * import assert from "node:assert/strict";
 *
 * const backend = await createOnnxBackend({ provider: "auto" });
 * try {
 *   assert.ok(["cuda", "webgpu", "cpu", "wasm"].includes(backend.provider));
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
    const { runtime, adapter } = await loadRuntime(provider, resolved, false);
    return new OnnxBackendImpl(runtime, resolved, undefined, adapter);
  }
  const reasons: string[] = [];
  for (const candidate of AUTO_PROVIDER_ORDER) {
    try {
      const { runtime, adapter } = await loadRuntime(candidate, resolved, true);
      return new OnnxBackendImpl(
        runtime,
        resolved,
        reasons.length > 0 ? reasons.join("; ") : undefined,
        adapter,
      );
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
    { details: { provider: "auto", reason: reasons.join("; ") } },
  );
}
