/**
 * Rebuilds the WebAssembly batch kernel: generates the WAT, assembles it with
 * the pinned wabt, and writes `scripts/wasm/moments.wat` (for reading) and
 * the embedded bytes of both variants (`src/kernels/_moments_wasm_bytes.generated.ts`,
 * which owns its memory, and `src/kernels/_moments_shared_wasm_bytes.generated.ts`,
 * the worker pool's, on shared memory). Deterministic: the same source gives
 * the same bytes, which `tests/kernels/compute_batch_moments_test.ts` checks.
 *
 * Run: `deno task build:wasm` or `npm run build:wasm`.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { assembleMoments, EMBEDDED, embeddedModuleSource } from "./wasm/assemble.ts";

const root = new URL("../", import.meta.url);
for (const variant of ["private", "shared"] as const) {
  const { wat, bytes } = await assembleMoments(variant);
  if (variant === "private") writeFileSync(new URL("scripts/wasm/moments.wat", root), wat);
  writeFileSync(new URL(EMBEDDED[variant].path, root), embeddedModuleSource(bytes, variant));
  console.log(`moments.wasm (${variant}): ${bytes.length} bytes`);
}
