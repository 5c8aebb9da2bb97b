/**
 * Run as its own process by `wasm_offline_test.ts`: initialises the wasm
 * backend with `fetch` replaced by a function that records any call, and
 * prints one JSON line saying what happened.
 *
 * @module
 */

const fetches: string[] = [];
globalThis.fetch = ((input: unknown) => {
  fetches.push(String(input));
  return Promise.reject(new Error("no network in this probe"));
}) as typeof fetch;
const tf = await import("@tensorflow/tfjs");
await import("@tensorflow/tfjs-backend-wasm");
const ok = await tf.setBackend("wasm");
await tf.ready();
const squares = Array.from(tf.square(tf.tensor1d([1, 2, 3])).dataSync());
console.log(JSON.stringify({ ok, backend: tf.getBackend(), squares, fetches }));
