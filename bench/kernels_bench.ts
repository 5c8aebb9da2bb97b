/**
 * `deno bench` for the batch kernels at the sizes of issue 7: the exact
 * WebAssembly SIMD kernel (float64 and float32 input), the fast float32
 * kernel, the TypeScript fallback, and one pass summing X for scale.
 *
 * Run: `deno task bench`. The streaming path's benchmark belongs next to it
 * once `correlateBatches` lands (TODO(stream)).
 *
 * @module
 */

import {
  computeBatchMomentsFloat32,
  computeBatchMomentsWith,
} from "../src/kernels/compute_batch_moments.ts";
import { emptyMoments } from "../src/core/batch_moments.ts";
import { generate, SIZES } from "./data.ts";

let sink = 0;

for (const size of SIZES) {
  const { B, F, M } = size;
  const { x, n } = generate(size);
  const x32 = new Float32Array(x);
  const out = emptyMoments(F, M);
  const group = `${B}×${F}×${M}`;
  Deno.bench({
    name: "wasm-simd, float64",
    group,
    baseline: true,
    fn: () => void computeBatchMomentsWith("wasm-simd", x, n, B, F, M, out),
  });
  Deno.bench({
    name: "wasm-simd, float32 input",
    group,
    fn: () => void computeBatchMomentsWith("wasm-simd", x32, n, B, F, M, out),
  });
  Deno.bench({
    name: "fast float32",
    group,
    fn: () => void computeBatchMomentsFloat32(x32, n, B, F, M, out),
  });
  Deno.bench({
    name: "typescript, float64",
    group,
    fn: () => void computeBatchMomentsWith("typescript", x, n, B, F, M, out),
  });
  Deno.bench({
    name: "one pass summing X",
    group,
    fn: () => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += x[i]!;
      sink += sum;
    },
  });
}

Deno.bench({ name: "sink", fn: () => void (sink > 0) });
