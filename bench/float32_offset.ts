/**
 * How far the float32 paths stray from an accurate float64 reference on
 * columns far from zero (SPEC section 6): `base + spread·(u + c·n)` with
 * |base|/spread from 1e2 to 1e8, both signs, spreads 1e-6 to 1e6, float64 and
 * float32 input, the first sample sometimes an outlier, confounds offset too
 * (the generator of the property tests, `offsetColumnsArbitrary`).
 *
 * Prints, per |base|/spread, the largest |r − reference| of batchCorrFloat32
 * and of the ONNX Runtime `cpu` and `wasm` backends, the reference being a
 * two-pass Pearson r in float64 on the data shifted by each column's first
 * value (`shiftedPearson`, independent of the library's kernels).
 *
 * Run: `deno run -A bench/float32_offset.ts [cases]` (default 2000, fixed seed).
 */
import fc from "fast-check";
import { batchCorrFloat32, createOnnxBackend } from "../mod.ts";
import { offsetColumns, offsetColumnsArbitrary, shiftedPearson } from "../tests/fuzz_support.ts";

const RATIOS = [1e2, 1e4, 1e5, 1e6, 1e7, 1e8];
const PATHS = [
  "batchCorrFloat32 (float64 in)",
  "batchCorrFloat32 (float32 in)",
  "ONNX cpu",
  "ONNX wasm",
];

const count = Number(Deno.args[0] ?? 2000);
const cases = fc.sample(offsetColumnsArbitrary, { numRuns: count, seed: 7 }).map(offsetColumns);
const worst = PATHS.map(() => new Map(RATIOS.map((ratio) => [ratio, 0])));
const cpu = await createOnnxBackend({ provider: "cpu", abs: false });
const wasm = await createOnnxBackend({ provider: "wasm", abs: false });

function record(
  path: number,
  got: ArrayLike<number>,
  reference: Float64Array,
  ratios: number[],
  M: number,
) {
  for (let i = 0; i < reference.length; i++) {
    const ratio = Math.abs(ratios[Math.floor(i / M)]!);
    const error = Math.abs(got[i]! - reference[i]!);
    const table = worst[path]!;
    // A NaN (a path that failed) must show, not vanish in Math.max.
    table.set(ratio, Number.isNaN(error) ? Number.NaN : Math.max(table.get(ratio)!, error));
  }
}

async function onnxRaw(
  backend: typeof cpu,
  X: unknown,
  N: unknown,
  size: number,
): Promise<Float64Array> {
  try {
    return (await backend.run(X as never, N as never, { tol: 0 })).raw;
  } catch {
    return new Float64Array(size).fill(Number.NaN);
  }
}

try {
  for (const c of cases) {
    const reference = shiftedPearson(c.x, c.n, c.B, c.F, c.M);
    const X = { data: c.x, shape: [c.B, c.F] }, N = { data: c.n, shape: [c.M, c.B] };
    const fast = batchCorrFloat32(X, N, { abs: false, tol: 0 });
    record(c.x instanceof Float32Array ? 1 : 0, fast.data, reference, c.ratios, c.M);
    record(2, await onnxRaw(cpu, X, N, reference.length), reference, c.ratios, c.M);
    record(3, await onnxRaw(wasm, X, N, reference.length), reference, c.ratios, c.M);
  }
} finally {
  await cpu.dispose();
  await wasm.dispose();
}

console.log(
  `largest |r − reference| over ${count} cases (seed 7); NaN: a batch was refused or failed\n`,
);
console.log(`| path | ${RATIOS.map((r) => `base/spread ${r.toExponential(0)}`).join(" | ")} |`);
console.log(`| --- | ${RATIOS.map(() => "---").join(" | ")} |`);
PATHS.forEach((path, p) => {
  console.log(`| ${path} | ${RATIOS.map((r) => worst[p]!.get(r)!.toExponential(1)).join(" | ")} |`);
});
