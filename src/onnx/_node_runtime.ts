/**
 * `onnxruntime-node` providers: `cpu` (native, multi-threaded) and `cuda`
 * (NVIDIA GPUs, when the CUDA provider files and libraries are present). The
 * package is imported only when one of them is asked for.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";
import { BatchCorrError } from "../core/errors.ts";
import { exportBatchCorrOnnx } from "./export_batch_corr_onnx.ts";
import { type OrtModule, type OrtRuntime, reasonOf, runtimeOf } from "./_runtime.ts";

/** Files the CUDA provider needs next to the binding; npm does not ship them. */
const CUDA_PROVIDER_FILES = [
  "libonnxruntime_providers_shared.so",
  "libonnxruntime_providers_cuda.so",
];

const CUDA_INSTALL_HINT = "onnxruntime-node's install script downloads them " +
  "(node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12, with network access); " +
  "CUDA 12 and cuDNN 9 libraries must also be on the library path";

function unavailable(provider: string, reason: string, cause?: unknown): BatchCorrError {
  return new BatchCorrError(
    "provider_unavailable",
    `Cannot use the ONNX Runtime provider "${provider}" as ${reason}`,
    { cause, details: { provider, reason } },
  );
}

/** The folder holding the native binding, when the package resolves to files. */
function bindingFolder(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve("onnxruntime-node");
    return join(dirname(entry), "..", "bin", "napi-v6", process.platform, process.arch);
  } catch {
    return undefined;
  }
}

function missingCudaFiles(): string[] {
  const folder = bindingFolder();
  if (folder === undefined || !existsSync(folder)) return [];
  return CUDA_PROVIDER_FILES.filter((file) => !existsSync(join(folder, file))).map((file) =>
    join(folder, file)
  );
}

/**
 * Opens and runs a one-feature session on CUDA: ORT only reports missing CUDA
 * libraries or devices when a session asks for the provider.
 */
async function probeCuda(runtime: OrtRuntime): Promise<void> {
  const session = await runtime.createSession(exportBatchCorrOnnx({ features: 1, confounds: 1 }));
  try {
    await session.run({
      x: runtime.tensor(new Float32Array([0, 1, 2]), [3, 1]),
      n: runtime.tensor(new Float32Array([0, 1, 3]), [1, 3]),
    });
  } finally {
    await session.release();
  }
}

/**
 * Loads `onnxruntime-node` on the CPU or on CUDA, checking CUDA with a probe
 * session before any batch depends on it.
 *
 * @param provider `"cpu"` or `"cuda"`.
 * @param threads Intra-op threads (0: ORT's default, one per core).
 * @returns The runtime.
 * @throws {BatchCorrError} `provider_unavailable` if the package cannot load,
 * or for CUDA if its provider files, libraries or device are missing.
 */
export async function loadNodeRuntime(
  provider: "cpu" | "cuda",
  threads: number,
): Promise<OrtRuntime> {
  let ort: typeof import("onnxruntime-node");
  try {
    ort = await import("onnxruntime-node");
  } catch (error) {
    throw unavailable(provider, `onnxruntime-node could not be loaded: ${reasonOf(error)}`, error);
  }
  const options = { executionProviders: [provider], intraOpNumThreads: threads };
  const runtime = runtimeOf(ort as unknown as OrtModule, provider, options);
  if (provider === "cpu") return runtime;
  const missing = missingCudaFiles();
  if (missing.length > 0) {
    throw unavailable(
      "cuda",
      `onnxruntime-node is installed without its CUDA provider files (${
        missing.join(", ")
      } missing); ${CUDA_INSTALL_HINT}`,
    );
  }
  try {
    await probeCuda(runtime);
  } catch (error) {
    throw unavailable(
      "cuda",
      `ONNX Runtime could not start a CUDA session: ${reasonOf(error)}; ${CUDA_INSTALL_HINT}`,
      error,
    );
  }
  return runtime;
}
