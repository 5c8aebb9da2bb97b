/**
 * Generates the WebAssembly text of the batch kernel (`src/kernels/_moments_wasm_bytes.generated.ts`
 * holds its assembled bytes; `scripts/build_wasm.ts` rebuilds them).
 *
 * The kernel computes, for a `(B, F)` row-major block of X (float64 or float32)
 * and centred confounds stored `(B, M)`, the feature means, the centred sums of
 * squares and the `(F, M)` co-moment, exactly as the TypeScript kernel does:
 * every sum runs over the batch in sample order from 0, with separate multiply
 * and add (no fused multiply-add), so the results are bit-for-bit those of the
 * scalar loop. SIMD runs across adjacent features (f64x2 lanes), never across
 * samples, which is what keeps the order of each sum unchanged.
 *
 * Cache: both passes (means, then centred sums) run over one strip of 8
 * features × all B samples before moving on, so the second pass reads the
 * strip from cache and X crosses the memory bus once. Register blocking: each
 * inner loop holds a block of features × confounds of accumulators in locals
 * (8×1, 4×2 or 4×4), one splatted confound value feeding every feature vector.
 *
 * @module
 */

import { fastFloat32Wat } from "./fast_f32_wat.ts";
import { flagFunction, viewFunction } from "./finish_wat.ts";

/** Input element type of X. */
type Element = "f64" | "f32";

const ELEMENT_BYTES: Record<Element, number> = { f64: 8, f32: 4 };

/** Features per strip: pass 1 runs over 8 features at a time. */
export const STRIP = 8;

function vectorLoad(element: Element, offset: number, pointer: string): string {
  return element === "f64"
    ? `(v128.load offset=${offset} align=8 (local.get ${pointer}))`
    : `(f64x2.promote_low_f32x4 (v128.load64_zero offset=${offset} align=4 (local.get ${pointer})))`;
}

function scalarLoad(element: Element, offset: number, pointer: string): string {
  return element === "f64"
    ? `(f64.load offset=${offset} (local.get ${pointer}))`
    : `(f64.promote_f32 (f32.load offset=${offset} (local.get ${pointer})))`;
}

/** The counted loop over samples: `$b` runs down from B (B ≥ 1), `$p` steps one row. */
function sampleLoop(body: string[], extraSteps: string[] = []): string[] {
  if (blocking.unroll) return unrolledSampleLoop(body, extraSteps);
  return [
    "(local.set $b (local.get $B))",
    "(loop $rows",
    ...body.map((line) => "  " + line),
    "  (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))",
    ...extraSteps.map((line) => "  " + line),
    "  (br_if $rows (local.tee $b (i32.sub (local.get $b) (i32.const 1)))))",
  ];
}

/**
 * {@linkcode sampleLoop} with two samples per iteration (then one more when B
 * is odd): the same sums in the same order, with half the loop overhead.
 */
function unrolledSampleLoop(body: string[], extraSteps: string[]): string[] {
  const step = [
    "(local.set $p (i32.add (local.get $p) (local.get $rowBytes)))",
    ...extraSteps,
  ];
  const one = [...body, ...step];
  return [
    "(local.set $b (i32.shr_u (local.get $B) (i32.const 1)))",
    "(if (local.get $b) (then",
    "  (loop $rows",
    ...[...one, ...one].map((line) => "    " + line),
    "    (br_if $rows (local.tee $b (i32.sub (local.get $b) (i32.const 1)))))))",
    "(if (i32.and (local.get $B) (i32.const 1)) (then",
    ...one.map((line) => "  " + line),
    "))",
  ];
}

/**
 * Means of `vectors` pairs of features (or one feature when vectors is 0):
 * `(p, rowBytes, B, meanOut)`.
 */
function meanFunction(element: Element, vectors: number): string {
  const es = ELEMENT_BYTES[element];
  const name = `$mean_${element}_${vectors === 0 ? "s" : `v${vectors}`}`;
  const lanes = vectors === 0 ? [0] : Array.from({ length: vectors }, (_, i) => i);
  const type = vectors === 0 ? "f64" : "v128";
  const add = vectors === 0 ? "f64.add" : "f64x2.add";
  const load = (i: number) =>
    vectors === 0 ? scalarLoad(element, 0, "$p") : vectorLoad(element, i * 2 * es, "$p");
  const lines = [
    `(func ${name} (param $p i32) (param $rowBytes i32) (param $B i32) (param $out i32)`,
    "(local $b i32) (local $count f64)",
    ...lanes.map((i) => `(local $a${i} ${type})`),
    ...sampleLoop(lanes.map((i) => `(local.set $a${i} (${add} (local.get $a${i}) ${load(i)}))`)),
    "(local.set $count (f64.convert_i32_u (local.get $B)))",
    ...lanes.map((i) =>
      vectors === 0
        ? `(f64.store (local.get $out) (f64.div (local.get $a${i}) (local.get $count)))`
        : `(v128.store offset=${
          i * 16
        } align=8 (local.get $out) (f64x2.div (local.get $a${i}) (f64x2.splat (local.get $count))))`
    ),
    ")",
  ];
  return lines.join("\n");
}

/**
 * Centred sums for a block of `vectors` feature pairs (one feature when 0) ×
 * `confounds` confounds: `(p, rowBytes, B, meanIn, q, qRowBytes, m2Out, coOut, coRowBytes)`.
 * `q` points at the first confound of the block in the centred `(B, M)` array.
 * With `withM2` false the sums of squares are skipped (already done for the
 * first confound block).
 */
function comomentFunction(
  element: Element,
  vectors: number,
  confounds: number,
  withM2: boolean,
): string {
  const es = ELEMENT_BYTES[element];
  const scalar = vectors === 0;
  const name = `$co_${element}_${scalar ? "s" : `v${vectors}`}_m${confounds}${withM2 ? "_sq" : ""}`;
  const lanes = scalar ? [0] : Array.from({ length: vectors }, (_, i) => i);
  const js = Array.from({ length: confounds }, (_, j) => j);
  const type = scalar ? "f64" : "v128";
  const op = (o: string) => scalar ? `f64.${o}` : `f64x2.${o}`;
  const load = (i: number) =>
    scalar ? scalarLoad(element, 0, "$p") : vectorLoad(element, i * 2 * es, "$p");
  const splat = (j: number) =>
    scalar
      ? `(f64.load offset=${j * 8} (local.get $q))`
      : `(v128.load64_splat offset=${j * 8} align=8 (local.get $q))`;

  // Keep few vectors live (x86 has 16 vector registers): the means are read
  // from memory in the loop, and the loop order holds either one deviation or
  // one confound value at a time, whichever block dimension is 1.
  const mean = (i: number) =>
    scalar
      ? "(f64.load (local.get $meanIn))"
      : `(v128.load offset=${i * 16} align=8 (local.get $meanIn))`;
  const deviation = (i: number) => `(local.set $d${i} (${op("sub")} ${load(i)} ${mean(i)}))`;
  const square = (i: number) =>
    `(local.set $s${i} (${op("add")} (local.get $s${i}) (${
      op("mul")
    } (local.get $d${i}) (local.get $d${i}))))`;
  const product = (i: number, j: number, n: string) =>
    `(local.set $c${i}_${j} (${op("add")} (local.get $c${i}_${j}) (${
      op("mul")
    } (local.get $d${i}) (local.get ${n}))))`;
  const body: string[] = [];
  if (confounds === 1) {
    body.push(`(local.set $n0 ${splat(0)})`);
    for (const i of lanes) {
      body.push(deviation(i));
      if (withM2) body.push(square(i));
      body.push(product(i, 0, "$n0"));
    }
  } else {
    for (const i of lanes) {
      body.push(deviation(i));
      if (withM2) body.push(square(i));
    }
    for (const j of js) {
      body.push(`(local.set $n0 ${splat(j)})`);
      for (const i of lanes) body.push(product(i, j, "$n0"));
    }
  }

  const stores: string[] = [];
  for (const i of lanes) {
    if (withM2) {
      stores.push(
        scalar
          ? `(f64.store (local.get $m2Out) (local.get $s${i}))`
          : `(v128.store offset=${i * 16} align=8 (local.get $m2Out) (local.get $s${i}))`,
      );
    }
    for (const lane of scalar ? [0] : [0, 1]) {
      const row = scalar ? 0 : 2 * i + lane;
      stores.push(
        `(local.set $row (i32.add (local.get $coOut) (i32.mul (local.get $coRowBytes) (i32.const ${row}))))`,
      );
      for (const j of js) {
        const value = scalar
          ? `(local.get $c${i}_${j})`
          : `(f64x2.extract_lane ${lane} (local.get $c${i}_${j}))`;
        stores.push(`(f64.store offset=${j * 8} (local.get $row) ${value})`);
      }
    }
  }

  return [
    `(func ${name} (param $p i32) (param $rowBytes i32) (param $B i32) (param $meanIn i32)`,
    "  (param $q i32) (param $qRowBytes i32) (param $m2Out i32) (param $coOut i32) (param $coRowBytes i32)",
    `(local $b i32) (local $row i32) (local $n0 ${type})`,
    ...lanes.map((i) => `(local $d${i} ${type}) (local $s${i} ${type})`),
    ...lanes.flatMap((i) => js.map((j) => `(local $c${i}_${j} ${type})`)),
    ...sampleLoop(body, ["(local.set $q (i32.add (local.get $q) (local.get $qRowBytes)))"]),
    ...stores,
    ")",
  ].join("\n");
}

/** Register blocks: confounds per block, largest first, and feature pairs (vectors) for each. */
export interface Blocking {
  /** Confound block sizes, largest first, ending with 1. */
  confounds: number[];
  /** Feature pairs per register block, for each confound block size. */
  vectors: Record<number, number>;
  /** Two samples per loop iteration. */
  unroll?: boolean;
}

let blocking: Blocking = { confounds: [4, 2, 1], vectors: { 4: 2, 2: 2, 1: 4 } };

/** Experiments only: replaces the register blocking. */
export function setBlocking(next: Blocking): void {
  blocking = next;
}

function vectorsFor(confounds: number): number {
  return blocking.vectors[confounds]!;
}

/**
 * Pass 2 over one group of features (a strip, or a tail of 1 or 2 features)
 * against every confound block, with the sums of squares taken on the first.
 */
function strideCalls(element: Element, featureWidth: number): string[] {
  const es = ELEMENT_BYTES[element];
  const lines: string[] = ["(local.set $m (i32.const 0))", "(local.set $first (i32.const 1))"];
  for (const mb of blocking.confounds) {
    const vectors = featureWidth === 1 ? 0 : featureWidth === 2 ? 1 : vectorsFor(mb);
    const width = vectors === 0 ? 1 : vectors * 2;
    const calls: string[] = [];
    for (let g = 0; g < featureWidth; g += width) {
      const args = [
        `(i32.add (local.get $p) (i32.const ${g * es}))`,
        "(local.get $rowBytes)",
        "(local.get $B)",
        `(i32.add (local.get $meanP) (i32.const ${g * 8}))`,
        "(i32.add (local.get $cn) (i32.shl (local.get $m) (i32.const 3)))",
        "(local.get $cnRowBytes)",
        `(i32.add (local.get $m2P) (i32.const ${g * 8}))`,
        `(i32.add (i32.add (local.get $coP) (i32.mul (local.get $cnRowBytes) (i32.const ${g}))) (i32.shl (local.get $m) (i32.const 3)))`,
        "(local.get $cnRowBytes)",
      ].join(" ");
      const base = `$co_${element}_${vectors === 0 ? "s" : `v${vectors}`}_m${mb}`;
      calls.push(
        `    (if (local.get $first) (then (call ${base}_sq ${args})) (else (call ${base} ${args})))`,
      );
    }
    lines.push(
      "(block $done_m" + mb,
      "  (loop $blocks_m" + mb,
      `    (br_if $done_m${mb} (i32.gt_u (i32.add (local.get $m) (i32.const ${mb})) (local.get $M)))`,
      ...calls,
      "    (local.set $first (i32.const 0))",
      `    (local.set $m (i32.add (local.get $m) (i32.const ${mb})))`,
      `    (br $blocks_m${mb})))`,
    );
  }
  return lines;
}

/**
 * The exported entry point `moments_<element>(x, rowBytes, B, F, M, cn, mean, m2, co)`:
 * X at `x` with rows `rowBytes` apart, centred confounds `(B, M)` at `cn`,
 * outputs (float64) at `mean` (F), `m2` (F) and `co` (`(F, M)`).
 */
function entryFunction(element: Element): string {
  const es = ELEMENT_BYTES[element];
  const group = (width: number, meanName: string) => [
    `(block $done_w${width}`,
    `  (loop $features_w${width}`,
    `    (br_if $done_w${width} (i32.gt_u (i32.add (local.get $f) (i32.const ${width})) (local.get $F)))`,
    `    (local.set $p (i32.add (local.get $x) (i32.mul (local.get $f) (i32.const ${es}))))`,
    "    (local.set $meanP (i32.add (local.get $mean) (i32.shl (local.get $f) (i32.const 3))))",
    "    (local.set $m2P (i32.add (local.get $m2) (i32.shl (local.get $f) (i32.const 3))))",
    "    (local.set $coP (i32.add (local.get $co) (i32.mul (local.get $f) (local.get $cnRowBytes))))",
    `    (call ${meanName} (local.get $p) (local.get $rowBytes) (local.get $B) (local.get $meanP))`,
    ...strideCalls(element, width).map((line) => "    " + line),
    `    (local.set $f (i32.add (local.get $f) (i32.const ${width})))`,
    `    (br $features_w${width})))`,
  ];
  return [
    `(func (export "moments_${element}") (param $x i32) (param $rowBytes i32) (param $B i32) (param $F i32) (param $M i32)`,
    "  (param $cn i32) (param $mean i32) (param $m2 i32) (param $co i32)",
    "(local $f i32) (local $m i32) (local $first i32) (local $p i32) (local $meanP i32) (local $m2P i32) (local $coP i32)",
    "(local $cnRowBytes i32)",
    "(local.set $cnRowBytes (i32.shl (local.get $M) (i32.const 3)))",
    ...group(STRIP, `$mean_${element}_v${STRIP / 2}`),
    ...group(2, `$mean_${element}_v1`),
    ...group(1, `$mean_${element}_s`),
    ")",
  ].join("\n");
}

/**
 * The kernel module's WebAssembly text.
 *
 * @param shared False (default): the module owns its memory, exported as
 * `memory`. True: it imports a shared memory as `env.memory` (up to 4 GiB),
 * so the worker pool's threads run the same code on one copy of a batch.
 * @returns WAT source, assembled by `scripts/build_wasm.ts`.
 */
export function momentsWat(shared = false): string {
  const parts: string[] = [
    ";; Generated by scripts/wasm/moments_wat.ts; do not edit.",
    "(module",
    shared ? '(import "env" "memory" (memory 1 65536 shared))' : '(memory (export "memory") 1)',
  ];
  for (const element of ["f64", "f32"] as const) {
    for (const vectors of [STRIP / 2, 1, 0]) parts.push(meanFunction(element, vectors));
    for (const mb of blocking.confounds) {
      for (const vectors of new Set([vectorsFor(mb), 1, 0])) {
        for (const withM2 of [true, false]) {
          parts.push(comomentFunction(element, vectors, mb, withM2));
        }
      }
    }
    parts.push(entryFunction(element));
  }
  parts.push(...fastFloat32Wat());
  parts.push(flagFunction(), viewFunction());
  parts.push(")");
  return parts.join("\n") + "\n";
}
