import { exportBatchCorrOnnx } from "./src/onnx/export.ts";
const which = (globalThis as any).Deno ? "deno" : "bun";
const model = exportBatchCorrOnnx({ features: 3, confounds: 1 });
const x = new Float32Array([1,2,3, 2,1,5, 3,3,1, 4,0,2]);
const n = new Float32Array([1,2,3,4]);
async function tryNode(ep: string) {
  const ort = await import("onnxruntime-node");
  const t0 = performance.now();
  try {
    const s = await ort.InferenceSession.create(model, { executionProviders: [ep], logSeverityLevel: 3 });
    const out = await s.run({ x: new ort.Tensor("float32", x, [4, 3]), n: new ort.Tensor("float32", n, [1, 4]) });
    console.log(which, "node", ep, Array.from(out.raw!.data as Float32Array), performance.now() - t0);
  } catch (e) { console.log(which, "node", ep, "ERR", String(e).slice(0, 300)); }
}
async function tryWeb(ep: string) {
  const ort = await import("onnxruntime-web");
  console.log(which, "web version", ort.env.versions);
  ort.env.wasm.numThreads = 1;
  try {
    const s = await ort.InferenceSession.create(model, { executionProviders: [ep] });
    const out = await s.run({ x: new ort.Tensor("float32", x, [4, 3]), n: new ort.Tensor("float32", n, [1, 4]) });
    console.log(which, "web", ep, Array.from(out.raw!.data as Float32Array));
  } catch (e) { console.log(which, "web", ep, "ERR", String(e).slice(0, 500)); }
}
await tryNode("cpu"); await tryNode("cuda"); await tryWeb("wasm");
