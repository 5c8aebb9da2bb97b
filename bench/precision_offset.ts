/**
 * Measures how far the streaming correlations drift from an accurate float64
 * reference on features `1e9 + noise` and `1e-9 · noise` (issue 3's
 * stability data), over many seeds: the running view, a 4-batch window and
 * exponential forgetting (decay 0.8).
 *
 * The reference subtracts each column's first value before a weighted
 * two-pass computation: `x − x₀` is exact for values within a factor 2 of
 * each other, so the reference sees the noise with all its digits.
 *
 * Run: `deno run -A bench/precision_offset.ts [seeds]` (default 200).
 */
import { correlateBatches } from "../mod.ts";
import { mulberry32 } from "../src/cli/input/mulberry32.ts";

interface Sample {
  x: [number, number];
  n: number;
}

function makeBatches(seed: number): Sample[][] {
  const random = mulberry32(seed);
  return Array.from({ length: 12 }, () => {
    const B = 5 + Math.floor(random() * 40);
    const n = Array.from({ length: B }, () => random());
    return n.map((nb) => {
      const noise = random() - 0.5 + 0.3 * nb;
      return { x: [1e9 + noise, 1e-9 * (random() - 0.5 + 0.5 * nb)], n: nb };
    });
  });
}

/** Weighted Pearson r of column f with n, two-pass on data shifted by their first values. */
function shiftedPearson(samples: Sample[], weights: number[], f: 0 | 1): number {
  const x0 = samples[0]!.x[f], n0 = samples[0]!.n;
  const xs = samples.map((s) => s.x[f] - x0), ns = samples.map((s) => s.n - n0);
  let w = 0, mx = 0, mn = 0;
  samples.forEach((_, i) => {
    w += weights[i]!;
    mx += weights[i]! * xs[i]!;
    mn += weights[i]! * ns[i]!;
  });
  mx /= w;
  mn /= w;
  let sxn = 0, sxx = 0, snn = 0;
  samples.forEach((_, i) => {
    const dx = xs[i]! - mx, dn = ns[i]! - mn;
    sxn += weights[i]! * dx * dn;
    sxx += weights[i]! * dx * dx;
    snn += weights[i]! * dn * dn;
  });
  return sxn / Math.sqrt(sxx * snn);
}

function toBatch(samples: Sample[]) {
  const B = samples.length;
  return {
    x: { data: Float64Array.from(samples.flatMap((s) => s.x)), shape: [B, 2] },
    n: { data: Float64Array.from(samples, (s) => s.n), shape: [1, B] },
  };
}

type View = "running" | "window" | "decay";
const WINDOW = 4, DECAY = 0.8;

async function errors(seed: number, view: View): Promise<[number, number]> {
  const batches = makeBatches(seed);
  const options = view === "window" ? { window: WINDOW } : view === "decay" ? { decay: DECAY } : {};
  let worst = 0, last = 0, k = 0;
  for await (
    const result of correlateBatches(batches.map(toBatch), { ...options, abs: false, tol: 0 })
  ) {
    const first = view === "window" ? Math.max(0, k - WINDOW + 1) : 0;
    const seen = batches.slice(first, k + 1);
    const samples = seen.flat();
    const weights = seen.flatMap((batch, i) =>
      batch.map(() => view === "decay" ? DECAY ** (seen.length - 1 - i) : 1)
    );
    const r = (view === "running" ? result.running : result.window!).correlations!.data;
    last = 0;
    for (const f of [0, 1] as const) {
      last = Math.max(last, Math.abs(r[f]! - shiftedPearson(samples, weights, f)));
    }
    worst = Math.max(worst, last);
    k++;
  }
  return [worst, last];
}

const seeds = Number(Deno.args[0] ?? 200);
for (const view of ["running", "window", "decay"] as View[]) {
  const every: number[] = [], final: number[] = [];
  for (let seed = 0; seed < seeds; seed++) {
    const [worst, last] = await errors(seed, view);
    every.push(worst);
    final.push(last);
  }
  const text = (values: number[]): string => {
    values.sort((a, b) => a - b);
    return `max ${values.at(-1)!.toExponential(2)}, median ${
      values[values.length >> 1]!.toExponential(2)
    }`;
  };
  console.log(
    `${view.padEnd(8)} |r − reference| over ${seeds} seeds: after the last batch ${
      text(final)
    }; worst batch ${text(every)}`,
  );
}
