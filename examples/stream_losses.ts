/**
 * Streams mini-batches from an async generator through `BatchCorrStream` and
 * prints each batch's loss, the running loss over every sample so far, and a
 * 4-batch window that shows a confound leak appearing halfway through.
 *
 * Run: `deno run -A examples/stream_losses.ts` or `bun examples/stream_losses.ts`.
 */
import { type Batch, BatchCorrStream } from "../mod.ts";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";

const F = 16;

/** Batches of 32 samples; from batch 6 on, the first four features leak motion. */
async function* batches(count: number): AsyncGenerator<Batch> {
  const random = mulberry32(42);
  for (let i = 0; i < count; i++) {
    const B = 32;
    const motion = Float64Array.from({ length: B }, () => random());
    const x = new Float64Array(B * F);
    for (let b = 0; b < B; b++) {
      for (let f = 0; f < F; f++) {
        x[b * F + f] = random() + (i >= 6 && f < 4 ? 1.5 * motion[b]! : 0);
      }
    }
    yield { x: { data: x, shape: [B, F] }, n: motion };
  }
}

const source = ReadableStream.from(batches(12));
const results = source.pipeThrough(
  new BatchCorrStream({ tol: "auto", window: 4, output: "losses" }),
);

console.log("batch  samples  batch loss  running loss  window loss");
for await (const r of results) {
  const cells = [
    r.index,
    r.count,
    r.loss.toFixed(4),
    r.running.loss.toFixed(4),
    r.window!.loss.toFixed(4),
  ];
  console.log(cells.map((cell, i) => String(cell).padStart([5, 8, 11, 13, 12][i]!)).join(" "));
}
