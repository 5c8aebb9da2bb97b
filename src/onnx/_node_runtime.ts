/**
 * `onnxruntime-node` providers: `cpu` (native, multi-threaded), `cuda`
 * (NVIDIA GPUs, when the CUDA provider files and libraries are present) and
 * `webgpu-native` (the WebGPU execution provider built into the package's
 * native library: Dawn over Vulkan on Linux, in Deno, Bun and Node alike).
 * The package is imported only when one of them is asked for.
 *
 * @module
 */

import { basename } from "node:path";
import { BatchCorrError } from "../core/errors.ts";
import { exportBatchCorrOnnx } from "./export_batch_corr_onnx.ts";
import {
  bindingFolder,
  CUDA_PROVIDER_FILES,
  findVulkanLoader,
  gpuDeviceNodes,
  missingCudaFiles,
  VULKAN_LOADER,
} from "./_gpu_checks.ts";
import { loadOrtPackage, ONNXRUNTIME_NODE, type OrtPackageModule } from "./_ort_packages.ts";
import { type OrtRuntime, reasonOf, runtimeOf } from "./_runtime.ts";

/** The providers of onnxruntime-node. */
export type NodeProvider = "cpu" | "cuda" | "webgpu-native";

/** ONNX Runtime's own name of each execution provider. */
const EXECUTION_PROVIDER: Record<NodeProvider, string> = {
  cpu: "cpu",
  cuda: "cuda",
  "webgpu-native": "webgpu",
};

function unavailable(
  provider: string,
  reason: string,
  cause?: unknown,
  details: Record<string, unknown> = {},
): BatchCorrError {
  return new BatchCorrError(
    "provider_unavailable",
    `Cannot use the ONNX Runtime provider "${provider}" as ${reason}`,
    { cause, details: { ...details, provider, reason } },
  );
}

/** Where the CUDA provider files come from, without claiming versions not checked here. */
function cudaHint(folder: string): string {
  return `copy them from ONNX Runtime 1.30.0's Linux GPU build (the Microsoft.ML.OnnxRuntime.Gpu.Linux 1.30.0 NuGet package, folder runtimes/linux-x64/native/, which onnxruntime-node's install script fetches where it has network access) into ${folder}; the CUDA and cuDNN libraries that build links against must also be on the library path (\`ldd ${folder}/libonnxruntime_providers_cuda.so\` lists them)`;
}

/**
 * Opens and runs a one-feature session: ORT only reports a missing GPU,
 * library or adapter when a session asks for the provider.
 */
async function probe(runtime: OrtRuntime): Promise<void> {
  const session = await runtime.createSession(exportBatchCorrOnnx({ features: 1, confounds: 1 }));
  try {
    await session.run({
      x: runtime.tensor(new Float32Array([0, 1, 2]), [3, 1]),
      n: runtime.tensor(new Float32Array([0, 1, 3]), [1, 3]),
      tol: runtime.tensor(new Float32Array([0]), []),
    });
  } finally {
    await session.release();
  }
}

function checkCudaFiles(): void {
  const folder = bindingFolder();
  const missing = missingCudaFiles(folder);
  if (missing.length === 0) return;
  const files = missing.map((path) => basename(path)).join(" and ");
  throw unavailable(
    "cuda",
    `onnxruntime-node ships without its CUDA provider: ${files} must be in ${folder}, next to onnxruntime_binding.node: current folder has ${
      missing.length === CUDA_PROVIDER_FILES.length ? "neither" : "only the other"
    }; ${cudaHint(folder!)}`,
    undefined,
    { missingFiles: missing, folder },
  );
}

/**
 * The machine-level reasons `webgpu-native` cannot run, before ORT is asked:
 * no Vulkan loader on Linux; for `"auto"`, also no GPU device node (a
 * software adapter would be slower than `cpu`).
 */
function checkWebGpuNative(auto: boolean): void {
  const loader = findVulkanLoader();
  if (loader === null) {
    throw unavailable(
      "webgpu-native",
      `its WebGPU implementation (Dawn) needs the Vulkan loader ${VULKAN_LOADER}, which is in neither LD_LIBRARY_PATH, the linker cache nor the system library folders; install the GPU driver's Vulkan support (on Debian and Ubuntu: libvulkan1 and the driver's Vulkan ICD, for NVIDIA the driver's own)`,
    );
  }
  const devices = gpuDeviceNodes();
  if (auto && devices !== undefined && devices.length === 0) {
    throw unavailable(
      "webgpu-native",
      "this machine has no GPU device node (/dev/nvidia*, /dev/dri/renderD*): any adapter would be a software rasteriser, slower than the CPU",
    );
  }
}

function webGpuFailure(error: unknown): BatchCorrError {
  // ORT prefixes its source location and the failed check: keep what follows ("Failed to get…").
  const full = reasonOf(error);
  const reason = (/was false\. (.+)$/s.exec(full)?.[1] ?? full).trim();
  const noAdapter = /adapter/i.test(reason);
  return unavailable(
    "webgpu-native",
    noAdapter
      ? `ONNX Runtime's WebGPU provider (Dawn over Vulkan) found no adapter it supports (${reason}): the Vulkan loader is there, but no driver offers a Vulkan device Dawn accepts (a software rasteriser such as lavapipe lacks features Dawn requires; Dawn prints why on stderr)`
      : `ONNX Runtime could not start a WebGPU session: ${reason}`,
    error,
  );
}

/**
 * Loads `onnxruntime-node` on the CPU, on CUDA or on its native WebGPU
 * provider, checking a GPU provider with a probe session before any batch
 * depends on it.
 *
 * @param provider `"cpu"`, `"cuda"` or `"webgpu-native"`.
 * @param threads Intra-op threads (0: ORT's default, one per core).
 * @param auto Whether `"auto"` asks (then `webgpu-native` also needs a GPU device node).
 * @returns The runtime and the module it runs on.
 * @throws {BatchCorrError} `peer_missing` if the package cannot load;
 * `provider_unavailable` for CUDA without its provider files, libraries or
 * device, or for WebGPU without a Vulkan loader or a supported adapter.
 */
export async function loadNodeRuntime(
  provider: NodeProvider,
  threads: number,
  auto = false,
): Promise<{ runtime: OrtRuntime; module: OrtPackageModule }> {
  const ort = await loadOrtPackage(ONNXRUNTIME_NODE, provider);
  if (provider === "cuda") checkCudaFiles();
  if (provider === "webgpu-native") checkWebGpuNative(auto);
  const options = {
    executionProviders: [EXECUTION_PROVIDER[provider]],
    intraOpNumThreads: threads,
  };
  const runtime = runtimeOf(ort, provider, options);
  if (provider === "cpu") return { runtime, module: ort };
  try {
    await probe(runtime);
  } catch (error) {
    if (provider === "webgpu-native") throw webGpuFailure(error);
    throw unavailable(
      "cuda",
      `ONNX Runtime could not start a CUDA session: ${reasonOf(error)}; ${
        cudaHint(bindingFolder() ?? "onnxruntime-node's bin/napi-v6/<platform>/<arch> folder")
      }`,
      error,
    );
  }
  return { runtime, module: ort };
}
