/**
 * Prints hypercoil's batch correlation loss for a synthetic mini-batch whose
 * first features leak a confound.
 *
 * Run: `deno run -A examples/quickstart.ts` or `bun examples/quickstart.ts`.
 */
import { batchCorr, BatchCorrelationLoss } from "../mod.ts";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";

const B = 64, F = 8;
const random = mulberry32(7);
const motion = Float64Array.from({ length: B }, () => random());
const X = new Float64Array(B * F);
for (let b = 0; b < B; b++) {
  for (let f = 0; f < F; f++) {
    const leak = f < 3 ? (3 - f) * 0.5 * motion[b]! : 0;
    X[b * F + f] = random() + leak;
  }
}
const batch = { data: X, shape: [B, F] };
const r = batchCorr(batch, motion, { tol: "auto", abs: false });
console.log(`B = ${B}, F = ${F}, tol("auto") = ${r.tol.toFixed(4)}`);
for (let f = 0; f < F; f++) console.log(`  feature ${f}: thresholded r = ${r.data[f]!.toFixed(4)}`);
const loss = new BatchCorrelationLoss({ tol: "auto" });
console.log(`BatchCorrelationLoss (mean) = ${loss.evaluate(batch, motion).toFixed(6)}`);
