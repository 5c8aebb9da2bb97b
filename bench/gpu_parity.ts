/**
 * Parity of ONNX Runtime providers with a float64 reference, for
 * `bench/gpu.sh`: the offset float32 columns of the property tests
 * (`offsetColumnsArbitrary`: |base|/spread up to 1e8, both signs, float32 and
 * float64 input) plus constant columns, against `shiftedPearson`, held to
 * SPEC section 6's 1e-4 on r.
 *
 *     deno run -A bench/gpu_parity.ts [--providers webgpu-native,cuda,cpu] [--cases 300] [--require webgpu-native]
 *
 * A provider that cannot be created is reported with its reason and skipped,
 * unless it is listed in `--require` (then the script fails). Exit status 1
 * on any parity failure.
 *
 * @module
 */

import process from "node:process";
import fc from "fast-check";
import { createOnnxBackend, type OnnxBackend, type OnnxProvider } from "../mod.ts";
import { offsetColumns, offsetColumnsArbitrary, shiftedPearson } from "../tests/fuzz_support.ts";

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const PROVIDERS = (argument("providers") ?? "webgpu-native,cuda,cpu").split(",");
const REQUIRED = new Set((argument("require") ?? "").split(",").filter((p) => p !== ""));
const CASES = Number(argument("cases") ?? 300);
const PARITY = 1e-4;
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

const plans = fc.sample(offsetColumnsArbitrary, { numRuns: CASES, seed: 20261202 });
let failed = false;

for (const provider of PROVIDERS) {
  let backend: OnnxBackend;
  try {
    backend = await createOnnxBackend({ provider: provider as OnnxProvider, abs: false });
  } catch (error) {
    const required = REQUIRED.has(provider);
    failed ||= required;
    console.log(
      `${runtime} ${provider}: ${required ? "FAILED, required but" : "skipped,"} unavailable: ${
        (error as Error).message
      }`,
    );
    continue;
  }
  let worst = 0, worstPlan: unknown;
  try {
    for (const plan of plans) {
      const c = offsetColumns(plan);
      // One constant feature: exactly zero variance, r = 0, on every provider.
      for (let b = 0; b < c.B; b++) c.x[b * c.F] = c.x[0]!;
      const result = await backend.run(
        { data: c.x, shape: [c.B, c.F] },
        { data: c.n, shape: [c.M, c.B] },
        { tol: 0 },
      );
      const reference = shiftedPearson(c.x, c.n, c.B, c.F, c.M);
      for (let i = 0; i < reference.length; i++) {
        const error = Math.abs(result.raw[i]! - reference[i]!);
        if (!(error <= worst)) {
          worst = error;
          worstPlan = plan;
        }
      }
    }
  } catch (error) {
    failed = true;
    console.log(`${runtime} ${provider}: FAILED while running: ${(error as Error).message}`);
    await backend.dispose();
    continue;
  }
  await backend.dispose();
  const ok = worst <= PARITY;
  failed ||= !ok;
  console.log(
    `${runtime} ${provider}: ${ok ? "ok" : "FAILED"}, largest |r − reference| ${
      worst.toExponential(2)
    } over ${CASES} offset batches (limit ${PARITY})${
      ok ? "" : `; worst plan ${JSON.stringify(worstPlan)}`
    }`,
  );
}
process.exit(failed ? 1 : 0);
