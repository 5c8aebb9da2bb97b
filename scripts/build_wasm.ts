/**
 * Rebuilds the WebAssembly batch kernel: generates the WAT, assembles it with
 * the pinned wabt, and writes `scripts/wasm/moments.wat` (for reading) and
 * `src/kernels/_moments_wasm_bytes.generated.ts` (the bytes, embedded). Deterministic: the same
 * source gives the same bytes, which `tests/kernels_test.ts` checks.
 *
 * Run: `deno task build:wasm` or `npm run build:wasm`.
 *
 * @module
 */

import { writeFileSync } from "node:fs";
import { assembleMoments, embeddedModuleSource } from "./wasm/assemble.ts";

const root = new URL("../", import.meta.url);
const { wat, bytes } = await assembleMoments();
writeFileSync(new URL("scripts/wasm/moments.wat", root), wat);
writeFileSync(
  new URL("src/kernels/_moments_wasm_bytes.generated.ts", root),
  embeddedModuleSource(bytes),
);
console.log(`moments.wasm: ${bytes.length} bytes`);
