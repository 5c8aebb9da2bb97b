/**
 * The CSV reader's number parsing in isolation: `decimalFromBytes` on cells
 * in place in their bytes, against building each cell's string and calling
 * `Number()` (what the text path does), on the same cells. The cells are the
 * shortest round-trip texts of random normal doubles (17 significant digits
 * mostly, as `batch-corr generate` writes them), comma-separated. Both sides
 * must give the same sum, bit for bit, or the script fails.
 *
 *     deno run -A bench/decimal_parse.ts [cells]
 *     bun bench/decimal_parse.ts [cells]
 *
 * Prints ns per cell, the best of 5 rounds each.
 *
 * @module
 */

import process from "node:process";
import { decimalFromBytes } from "../src/cli/input/_decimal_bytes.ts";

const CELLS = Number(process.argv[2] ?? 1_000_000);

function cells(count: number): { bytes: Uint8Array; bounds: Int32Array } {
  let seed = 12345;
  const uniform = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const texts: string[] = [];
  for (let k = 0; k < count; k++) {
    // Box–Muller: normal values like the generated drift data.
    const value = Math.sqrt(-2 * Math.log(uniform() || 1e-300)) * Math.cos(2 * Math.PI * uniform());
    texts.push(String(value));
  }
  const bytes = new TextEncoder().encode(texts.join(","));
  const bounds = new Int32Array(2 * count);
  let start = 0;
  texts.forEach((text, k) => {
    bounds[2 * k] = start;
    bounds[2 * k + 1] = start + text.length;
    start += text.length + 1;
  });
  return { bytes, bounds };
}

function bestNsPerCell(run: () => number, count: number): { ns: number; sum: number } {
  let best = Infinity;
  let sum = 0;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    sum = run();
    best = Math.min(best, performance.now() - start);
  }
  return { ns: (best * 1e6) / count, sum };
}

const { bytes, bounds } = cells(CELLS);
const fromBytes = bestNsPerCell(() => {
  let sum = 0;
  for (let k = 0; k < bounds.length; k += 2) {
    sum += decimalFromBytes(bytes, bounds[k]!, bounds[k + 1]!)!;
  }
  return sum;
}, CELLS);
const viaString = bestNsPerCell(() => {
  let sum = 0;
  for (let k = 0; k < bounds.length; k += 2) {
    let text = "";
    for (let i = bounds[k]!; i < bounds[k + 1]!; i++) text += String.fromCharCode(bytes[i]!);
    sum += Number(text);
  }
  return sum;
}, CELLS);
if (!Object.is(fromBytes.sum, viaString.sum)) {
  throw new Error(`the two paths disagree: ${fromBytes.sum} against ${viaString.sum}`);
}
const runtime = "Bun" in globalThis ? "Bun" : "Deno";
console.log(
  `${runtime}, ${CELLS} cells: decimalFromBytes ${fromBytes.ns.toFixed(1)} ns/cell, ` +
    `string + Number() ${viaString.ns.toFixed(1)} ns/cell (${
      (viaString.ns / fromBytes.ns).toFixed(2)
    }×)`,
);
