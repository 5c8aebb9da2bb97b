/**
 * What the native GPU providers need from the machine, checked before ONNX
 * Runtime is asked (so that a missing piece is named, and Dawn's own stderr
 * warnings do not appear for a provider `"auto"` skips): a Vulkan loader for
 * `webgpu-native` on Linux, a GPU device node for `"auto"`, and the CUDA
 * provider files next to onnxruntime-node's binding.
 *
 * @module
 */

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";

/** The Vulkan loader Dawn opens on Linux. */
export const VULKAN_LOADER = "libvulkan.so.1";

/** Folders the dynamic linker searches by default on common Linux distributions. */
const SYSTEM_LIBRARY_FOLDERS = [
  "/lib",
  "/lib64",
  "/usr/lib",
  "/usr/lib64",
  "/usr/local/lib",
  `/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`,
  `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu`,
];

/** Where the dynamic linker would look: LD_LIBRARY_PATH, then the system folders. */
function libraryFolders(env: Readonly<Record<string, string | undefined>>): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? "").split(":").filter((folder) => folder !== "");
  return [...fromEnv, ...SYSTEM_LIBRARY_FOLDERS];
}

/**
 * Finds the Vulkan loader as `dlopen("libvulkan.so.1")` would: in
 * LD_LIBRARY_PATH, in the linker cache (`/etc/ld.so.cache`), or in the
 * system library folders. Not Linux: undefined means "no check" (Dawn uses
 * Metal or Direct3D there).
 *
 * @param env The environment (LD_LIBRARY_PATH).
 * @param platform The platform.
 * @returns The loader's path (or "ld.so.cache" when only the cache names
 * it), `null` when it cannot be found on Linux, undefined elsewhere.
 */
export function findVulkanLoader(
  env: Readonly<Record<string, string | undefined>> = process.env,
  platform: string = process.platform,
): string | null | undefined {
  if (platform !== "linux") return undefined;
  for (const folder of libraryFolders(env)) {
    const path = join(folder, VULKAN_LOADER);
    if (existsSync(path)) return path;
  }
  try {
    if (readFileSync("/etc/ld.so.cache").includes(VULKAN_LOADER)) return "ld.so.cache";
  } catch {
    // No cache: the folders above were the search.
  }
  return null;
}

/**
 * The GPU device nodes of this machine (`/dev/nvidia0`, `/dev/dri/renderD128`
 * …): a software rasteriser needs none, so `"auto"` tries `webgpu-native`
 * only where one exists.
 *
 * @param platform The platform.
 * @returns The device paths found on Linux; undefined elsewhere (no check).
 */
export function gpuDeviceNodes(platform: string = process.platform): string[] | undefined {
  if (platform !== "linux") return undefined;
  const found: string[] = [];
  const list = (folder: string, pattern: RegExp) => {
    try {
      for (const name of readdirSync(folder)) {
        if (pattern.test(name)) found.push(join(folder, name));
      }
    } catch {
      // Folder absent: no device of that kind.
    }
  };
  list("/dev", /^nvidia\d+$/);
  list("/dev/dri", /^renderD\d+$/);
  return found;
}

/** Files the CUDA provider needs next to the binding; the npm package does not ship them. */
export const CUDA_PROVIDER_FILES = [
  "libonnxruntime_providers_shared.so",
  "libonnxruntime_providers_cuda.so",
];

/**
 * The folder holding onnxruntime-node's native binding (where ONNX Runtime
 * looks for provider libraries), when the package resolves to files.
 *
 * @returns The folder, or undefined.
 */
export function bindingFolder(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve("onnxruntime-node");
    return join(dirname(entry), "..", "bin", "napi-v6", process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/**
 * The CUDA provider files missing from the binding folder.
 *
 * @param folder The binding folder.
 * @returns Their full paths (empty when all are there or the folder is unknown).
 */
export function missingCudaFiles(folder: string | undefined = bindingFolder()): string[] {
  if (folder === undefined || !existsSync(folder)) return [];
  return CUDA_PROVIDER_FILES.filter((file) => !existsSync(join(folder, file))).map((file) =>
    join(folder, file)
  );
}
