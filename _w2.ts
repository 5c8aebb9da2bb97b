import { exportBatchCorrOnnx } from "./src/onnx/export.ts";
const F = Number(Deno.args[0] ?? 3), B = Number(Deno.args[1] ?? 4);
const model = exportBatchCorrOnnx({ features: F, confounds: 1 });
const x = new Float32Array(B*F).map(() => Math.random());
const n = new Float32Array(B).map(() => Math.random());
let t = performance.now();
const lap = (l: string) => { const now = performance.now(); console.log(l, (now - t).toFixed(0)); t = now; };
const ort: any = await import("onnxruntime-web/webgpu");
lap("import");
const s = await ort.InferenceSession.create(model, { executionProviders: ["webgpu"], logSeverityLevel: 3 });
lap("create");
for (let i = 0; i < 3; i++) {
  const out = await s.run({ x: new ort.Tensor("float32", x, [B, F]), n: new ort.Tensor("float32", n, [1, B]) });
  lap("run" + i);
}
const s2 = await ort.InferenceSession.create(exportBatchCorrOnnx({ features: F+1, confounds: 2 }), { executionProviders: ["webgpu"], logSeverityLevel: 3 });
lap("create2");
await s2.run({ x: new ort.Tensor("float32", new Float32Array(B*(F+1)), [B, F+1]), n: new ort.Tensor("float32", new Float32Array(2*B), [2, B]) });
lap("run2");
