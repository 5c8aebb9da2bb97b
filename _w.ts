import { exportBatchCorrOnnx } from "./src/onnx/export.ts";
const model = exportBatchCorrOnnx({ features: 3, confounds: 1 });
const x = new Float32Array([1,2,3, 2,1,5, 3,3,1, 4,0,2]);
const n = new Float32Array([1,2,3,4]);
for (const spec of [Deno.args[0]]) {
  const ort: any = await import(spec!);
  ort.env.wasm.numThreads = 1;
  try {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(model, { executionProviders: ["webgpu"], logSeverityLevel: 3 });
    const out = await s.run({ x: new ort.Tensor("float32", x, [4, 3]), n: new ort.Tensor("float32", n, [1, 4]) });
    console.log(spec, Array.from(out.raw.data), Array.from(out.m2_x.data), performance.now()-t0);
    await s.release();
  } catch (e) { console.log(spec, "ERR", String(e).slice(0, 500)); }
}
