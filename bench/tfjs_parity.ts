/**
 * Prints the worst differences between the TensorFlow.js loss and the
 * float64 core over the seeded cases of the parity tests
 * (`tests/tfjs/_parity_cases.ts`: X of rank 1–4, M 1–4, B 3–512, every
 * scalarisation, tol 0 / 0.07 / "auto", abs both ways, offsets up to 3e5),
 * per backend and per `compute` ("host": float64 on the host, what "auto"
 * picks on cpu and wasm; "tf": the float32 tf-ops graph, what it picks on
 * webgl and webgpu), split into ordinary cases and nearly collinear ones (an
 * active |r| above 0.98, where float32 cancels digits).
 *
 * Run: `deno run -A bench/tfjs_parity.ts` (or `bun bench/tfjs_parity.ts`).
 */
import { autoTol, batchCorr } from "../mod.ts";
import { batchCorrTf } from "../src/tfjs/mod.ts";
import { BACKENDS, COMPUTES, useBackend } from "../tests/tfjs/_backends.ts";
import { parityCases, type ParityFigures, runParityCase } from "../tests/tfjs/_parity_cases.ts";

const cases = parityCases();
const keys = ["value", "gradX", "gradN", "correlations", "autodiff"] as const;
console.log(`${cases.length} cases; normwise relative differences max|a − b| / max|b|\n`);
console.log(
  "| backend | compute | cases | count | value | ∂L/∂X | ∂L/∂N | batchCorrTf | ∂L/∂X vs tf autodiff |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
for (const backend of BACKENDS) {
  for (const compute of COMPUTES) {
    await useBackend(backend);
    const worst = { ordinary: new Map<string, number>(), collinear: new Map<string, number>() };
    const counts = { ordinary: 0, collinear: 0 };
    for (const c of cases) {
      const r =
        batchCorr({ data: c.x, shape: c.xShape }, { data: c.n, shape: c.nShape }, { abs: false })
          .data;
      const tol = c.tol === "auto" ? autoTol(c.xShape[0]!) : c.tol;
      const kind = Array.from(r).some((v) => Math.abs(v) > tol && Math.abs(v) > 0.98)
        ? "collinear"
        : "ordinary";
      counts[kind]++;
      const figures: ParityFigures = runParityCase(c, batchCorrTf, compute);
      for (const key of keys) {
        if (!Number.isNaN(figures[key])) {
          worst[kind].set(key, Math.max(worst[kind].get(key) ?? 0, figures[key]));
        }
      }
    }
    for (const kind of ["ordinary", "collinear"] as const) {
      const cell = (key: string) => (worst[kind].get(key) ?? Number.NaN).toExponential(1);
      const row = [backend, compute, kind, counts[kind], ...keys.map(cell)];
      console.log(`| ${row.join(" | ")} |`);
    }
  }
}
