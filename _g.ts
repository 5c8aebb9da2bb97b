const nav = (globalThis as any).navigator;
console.log("gpu" in nav, typeof nav.gpu);
const a = await nav.gpu?.requestAdapter();
console.log(a, a?.info);
