/**
 * What `bench/gpu.sh` prints about the GPU providers: where the library finds
 * the Vulkan loader and the GPU device nodes, and whether `webgpu-native` and
 * `cuda` can be created here (with the reason when not).
 *
 *     deno run -A bench/gpu_adapter.ts      or      bun bench/gpu_adapter.ts
 *
 * @module
 */

import { createOnnxBackend } from "../mod.ts";
import { findVulkanLoader, gpuDeviceNodes } from "../src/onnx/_gpu_checks.ts";

const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
console.log(`${runtime}: Vulkan loader as the library finds it: ${findVulkanLoader() ?? "none"}`);
console.log(`${runtime}: GPU device nodes: ${(gpuDeviceNodes() ?? []).join(" ") || "none"}`);
for (const provider of ["webgpu-native", "cuda"] as const) {
  try {
    const backend = await createOnnxBackend({ provider });
    const packages = backend.packages.map((p) => `${p.name} ${p.version}`).join(", ");
    console.log(`${runtime}: ${provider}: available (${packages})`);
    await backend.dispose();
  } catch (error) {
    console.log(`${runtime}: ${provider}: ${(error as Error).message}`);
  }
}
