/**
 * Generates the WebAssembly text of the fast float32 kernel, appended to the
 * batch kernel's module by `moments_wat.ts`.
 *
 * Four float32 lanes per vector (twice the f64x2 kernel's work per
 * instruction): within a chunk of CHUNK samples, sums run in float32; at the
 * end of each chunk they are added into float64 accumulators and reset, so
 * rounding error grows with the chunk length, not with B. Features are
 * centred with the float64 mean rounded to float32. The correlations agree
 * with the float64 path to about 1e-6; the exact path stays the default.
 *
 * Strips of 16 features; the caller runs the exact kernel on the F mod 16
 * remaining features.
 *
 * @module
 */

/** Samples summed in float32 before a flush into float64. */
export const CHUNK = 32;

/** Features per strip of the fast kernel. */
export const FAST_STRIP = 16;

/** The chunked sample loop: rows of `body`, then `flush` every CHUNK rows. */
function chunkedLoop(body: string[], flush: string[], extraSteps: string[]): string[] {
  return [
    "(local.set $left (local.get $B))",
    "(loop $chunks",
    `  (local.set $b (select (i32.const ${CHUNK}) (local.get $left) (i32.gt_u (local.get $left) (i32.const ${CHUNK}))))`,
    "  (local.set $left (i32.sub (local.get $left) (local.get $b)))",
    "  (loop $rows",
    ...body.map((line) => "    " + line),
    "    (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))",
    ...extraSteps.map((line) => "    " + line),
    "    (br_if $rows (local.tee $b (i32.sub (local.get $b) (i32.const 1)))))",
    ...flush.map((line) => "  " + line),
    "  (br_if $chunks (local.get $left)))",
  ];
}

/** Adds lane `lane` of f32x4 `vector` into the float64 at `pointer + offset`. */
function flushLane(vector: string, lane: number, pointer: string, offset: number): string {
  return `(f64.store offset=${offset} (local.get ${pointer}) (f64.add (f64.load offset=${offset} (local.get ${pointer})) ` +
    `(f64.promote_f32 (f32x4.extract_lane ${lane} (local.get ${vector})))))`;
}

const ZERO = "(v128.const i64x2 0 0)";

/** Chunked float32 sums of 16 features into float64 sums at `$out`. */
function sumFunction(): string {
  const lanes = [0, 1, 2, 3];
  return [
    "(func $fast_sum (param $p i32) (param $rowBytes i32) (param $B i32) (param $out i32)",
    "(local $b i32) (local $left i32)",
    ...lanes.map((i) => `(local $a${i} v128)`),
    ...chunkedLoop(
      lanes.map((i) =>
        `(local.set $a${i} (f32x4.add (local.get $a${i}) (v128.load offset=${
          i * 16
        } align=4 (local.get $p))))`
      ),
      lanes.flatMap((i) => [
        ...[0, 1, 2, 3].map((lane) => flushLane(`$a${i}`, lane, "$out", (4 * i + lane) * 8)),
        `(local.set $a${i} ${ZERO})`,
      ]),
      [],
    ),
    ")",
  ].join("\n");
}

/**
 * Centred sums for `vectors` × 4 features × `confounds` confounds:
 * `(p, rowBytes, B, mean32, q, qRowBytes, m2Out, coOut, coRowBytes)`, the
 * float64 outputs accumulated into (the caller zeroes them first).
 */
function comomentFunction(vectors: number, confounds: number, withM2: boolean): string {
  const lanes = Array.from({ length: vectors }, (_, i) => i);
  const js = Array.from({ length: confounds }, (_, j) => j);
  const name = `$fast_co_v${vectors}_m${confounds}${withM2 ? "_sq" : ""}`;
  const deviation = (i: number) =>
    `(local.set $d${i} (f32x4.sub (v128.load offset=${
      i * 16
    } align=4 (local.get $p)) (v128.load offset=${i * 16} align=4 (local.get $meanIn))))`;
  const square = (i: number) =>
    `(local.set $s${i} (f32x4.add (local.get $s${i}) (f32x4.mul (local.get $d${i}) (local.get $d${i}))))`;
  const product = (i: number, j: number) =>
    `(local.set $c${i}_${j} (f32x4.add (local.get $c${i}_${j}) (f32x4.mul (local.get $d${i}) (local.get $n))))`;
  const splat = (j: number) =>
    `(local.set $n (v128.load32_splat offset=${j * 4} align=4 (local.get $q)))`;

  const body: string[] = [];
  if (confounds === 1) {
    body.push(splat(0));
    for (const i of lanes) body.push(deviation(i), ...(withM2 ? [square(i)] : []), product(i, 0));
  } else {
    for (const i of lanes) body.push(deviation(i), ...(withM2 ? [square(i)] : []));
    for (const j of js) body.push(splat(j), ...lanes.map((i) => product(i, j)));
  }

  const flush: string[] = [];
  for (const i of lanes) {
    if (withM2) {
      flush.push(
        ...[0, 1, 2, 3].map((lane) => flushLane(`$s${i}`, lane, "$m2Out", (4 * i + lane) * 8)),
      );
      flush.push(`(local.set $s${i} ${ZERO})`);
    }
    for (const lane of [0, 1, 2, 3]) {
      flush.push(
        `(local.set $row (i32.add (local.get $coOut) (i32.mul (local.get $coRowBytes) (i32.const ${
          4 * i + lane
        }))))`,
      );
      for (const j of js) flush.push(flushLane(`$c${i}_${j}`, lane, "$row", j * 8));
    }
    for (const j of js) flush.push(`(local.set $c${i}_${j} ${ZERO})`);
  }

  return [
    `(func ${name} (param $p i32) (param $rowBytes i32) (param $B i32) (param $meanIn i32)`,
    "  (param $q i32) (param $qRowBytes i32) (param $m2Out i32) (param $coOut i32) (param $coRowBytes i32)",
    "(local $b i32) (local $left i32) (local $row i32) (local $n v128)",
    ...lanes.map((i) => `(local $d${i} v128) (local $s${i} v128)`),
    ...lanes.flatMap((i) => js.map((j) => `(local $c${i}_${j} v128)`)),
    ...chunkedLoop(body, flush, ["(local.set $q (i32.add (local.get $q) (local.get $qRowBytes)))"]),
    ")",
  ].join("\n");
}

const CONFOUND_BLOCKS = [4, 2, 1] as const;
const vectorsFor = (confounds: number) => (confounds === 1 ? 4 : 2);

/**
 * The entry `moments_fast_f32(x, rowBytes, B, F, M, cn32, mean, m2, co, mean32)`:
 * F a multiple of 16; confounds centred, float32 `(B, M)` at `cn32`; float64
 * outputs `mean`, `m2`, `co` zeroed by the caller; `mean32` 64 bytes of scratch.
 */
function entryFunction(): string {
  const callsFor = (mb: number) => {
    const vectors = vectorsFor(mb);
    const width = vectors * 4;
    const calls: string[] = [];
    for (let g = 0; g < FAST_STRIP; g += width) {
      const args = [
        `(i32.add (local.get $p) (i32.const ${g * 4}))`,
        "(local.get $rowBytes)",
        "(local.get $B)",
        `(i32.add (local.get $mean32) (i32.const ${g * 4}))`,
        "(i32.add (local.get $cn) (i32.shl (local.get $m) (i32.const 2)))",
        "(i32.shl (local.get $M) (i32.const 2))",
        `(i32.add (local.get $m2P) (i32.const ${g * 8}))`,
        `(i32.add (i32.add (local.get $coP) (i32.mul (local.get $coRowBytes) (i32.const ${g}))) (i32.shl (local.get $m) (i32.const 3)))`,
        "(local.get $coRowBytes)",
      ].join(" ");
      const base = `$fast_co_v${vectors}_m${mb}`;
      calls.push(
        `(if (local.get $first) (then (call ${base}_sq ${args})) (else (call ${base} ${args})))`,
      );
    }
    return [
      `(block $done_m${mb}`,
      `  (loop $blocks_m${mb}`,
      `    (br_if $done_m${mb} (i32.gt_u (i32.add (local.get $m) (i32.const ${mb})) (local.get $M)))`,
      ...calls.map((line) => "    " + line),
      "    (local.set $first (i32.const 0))",
      `    (local.set $m (i32.add (local.get $m) (i32.const ${mb})))`,
      `    (br $blocks_m${mb})))`,
    ];
  };
  const finishMeans = Array.from({ length: FAST_STRIP }, (_, k) => [
    `(f64.store offset=${k * 8} (local.get $meanP) (f64.div (f64.load offset=${
      k * 8
    } (local.get $meanP)) (local.get $count)))`,
    `(f32.store offset=${k * 4} (local.get $mean32) (f32.demote_f64 (f64.load offset=${
      k * 8
    } (local.get $meanP))))`,
  ]).flat();
  return [
    '(func (export "moments_fast_f32") (param $x i32) (param $rowBytes i32) (param $B i32) (param $F i32) (param $M i32)',
    "  (param $cn i32) (param $mean i32) (param $m2 i32) (param $co i32) (param $mean32 i32)",
    "(local $f i32) (local $m i32) (local $first i32) (local $p i32) (local $meanP i32) (local $m2P i32) (local $coP i32)",
    "(local $coRowBytes i32) (local $count f64)",
    "(local.set $coRowBytes (i32.shl (local.get $M) (i32.const 3)))",
    "(local.set $count (f64.convert_i32_u (local.get $B)))",
    "(block $done",
    "  (loop $features",
    `    (br_if $done (i32.gt_u (i32.add (local.get $f) (i32.const ${FAST_STRIP})) (local.get $F)))`,
    "    (local.set $p (i32.add (local.get $x) (i32.shl (local.get $f) (i32.const 2))))",
    "    (local.set $meanP (i32.add (local.get $mean) (i32.shl (local.get $f) (i32.const 3))))",
    "    (local.set $m2P (i32.add (local.get $m2) (i32.shl (local.get $f) (i32.const 3))))",
    "    (local.set $coP (i32.add (local.get $co) (i32.mul (local.get $f) (local.get $coRowBytes))))",
    "    (call $fast_sum (local.get $p) (local.get $rowBytes) (local.get $B) (local.get $meanP))",
    ...finishMeans.map((line) => "    " + line),
    "    (local.set $m (i32.const 0))",
    "    (local.set $first (i32.const 1))",
    ...CONFOUND_BLOCKS.flatMap(callsFor).map((line) => "    " + line),
    `    (local.set $f (i32.add (local.get $f) (i32.const ${FAST_STRIP})))`,
    "    (br $features)))",
    ")",
  ].join("\n");
}

/**
 * The fast float32 kernel's functions, for inclusion in the module.
 *
 * @returns WAT function definitions.
 */
export function fastFloat32Wat(): string[] {
  const parts = [sumFunction()];
  for (const mb of CONFOUND_BLOCKS) {
    for (const withM2 of [true, false]) parts.push(comomentFunction(vectorsFor(mb), mb, withM2));
  }
  parts.push(entryFunction());
  return parts;
}
