/**
 * Generates the WebAssembly text of the per-feature passes that follow the
 * batch kernel (appended to its module by `moments_wat.ts`): the scan that
 * lists the feature columns needing a closer look, so that the TypeScript
 * checks after the kernel visit only those.
 *
 * @module
 */

/**
 * `flag_features(mean, m2, F, count, epsilon, list) -> n`: writes to `list`
 * (int32) the index of every feature whose moments may need one of the
 * checks that follow the kernel, and returns how many. A column is listed
 * when its sum of squares is below 1e-250, zero or NaN (underflow, zero
 * variance, a constant column's mean to pin), its mean or sum of squares is
 * not finite, its mean is more than 1e4 spreads from zero (the corrected
 * two-pass and the means' low parts), or its sum of squares is within the
 * rounding residue of a constant column (`count³·16·ε²·mean²`). Each
 * condition is computed with the operations, in the order, of the
 * TypeScript check it stands for, so the list holds every column those
 * checks would act on; they run again, exactly, on the listed columns.
 *
 * @returns The function's WAT.
 */
export function flagFunction(): string {
  const get = (name: string) => `(local.get $${name})`;
  return [
    '(func (export "flag_features") (param $mean i32) (param $m2 i32) (param $F i32) (param $count f64)',
    "  (param $epsilon f64) (param $list i32) (result i32)",
    "(local $f i32) (local $n i32) (local $mu f64) (local $ss f64) (local $residue f64)",
    // count·count·count·16·ε·ε, the left-to-right prefix of mayBeConstant's product.
    `(local.set $residue (f64.mul (f64.mul (f64.mul (f64.mul (f64.mul ${get("count")} ${
      get("count")
    }) ${get("count")}) (f64.const 16)) ${get("epsilon")}) ${get("epsilon")}))`,
    "(block $done",
    "  (loop $features",
    `    (br_if $done (i32.ge_u ${get("f")} ${get("F")}))`,
    `    (local.set $mu (f64.load (i32.add ${get("mean")} (i32.shl ${get("f")} (i32.const 3)))))`,
    `    (local.set $ss (f64.load (i32.add ${get("m2")} (i32.shl ${get("f")} (i32.const 3)))))`,
    "    (if (i32.or (i32.or",
    `          (i32.eqz (f64.ge ${get("ss")} (f64.const 1e-250)))`,
    `          (f64.ne (f64.add (f64.sub ${get("mu")} ${get("mu")}) (f64.sub ${get("ss")} ${
      get("ss")
    })) (f64.const 0)))`,
    "        (i32.or",
    `          (f64.gt (f64.abs ${get("mu")}) (f64.mul (f64.const 1e4) (f64.sqrt (f64.div ${
      get("ss")
    } ${get("count")}))))`,
    `          (f64.le ${get("ss")} (f64.mul (f64.mul ${get("residue")} ${get("mu")}) ${
      get("mu")
    }))))`,
    "      (then",
    `        (i32.store (i32.add ${get("list")} (i32.shl ${get("n")} (i32.const 2))) ${get("f")})`,
    `        (local.set $n (i32.add ${get("n")} (i32.const 1)))))`,
    `    (local.set $f (i32.add ${get("f")} (i32.const 1)))`,
    "    (br $features)))",
    get("n"),
    ")",
  ].join("\n");
}

/** The soft threshold of one r (f64 or f64x2), as `thresholdedFromMoments` applies it. */
function threshold(kind: "f64" | "f64x2", r: string): string {
  const abs = kind === "f64" ? `(f64.abs ${r})` : `(f64x2.abs ${r})`;
  const tol = kind === "f64" ? "(local.get $tol)" : "(local.get $tolV)";
  const zero = kind === "f64" ? "(f64.const 0)" : "(v128.const f64x2 0 0)";
  const shrunk = `(${kind}.max (${kind}.sub ${abs} ${tol}) ${zero})`;
  // Math.sign(r) · shrunk is shrunk with r's sign: shrunk is ≥ 0 (or NaN, reported alike).
  const signed = kind === "f64"
    ? `(f64.copysign (local.get $shrunk) ${r})`
    : `(v128.bitselect ${r} (local.get $shrunkV) (v128.const i64x2 0x8000000000000000 0x8000000000000000))`;
  return kind === "f64"
    ? `(local.set $shrunk ${shrunk}) (select (local.get $shrunk) ${signed} (local.get $abs))`
    : `(local.set $shrunkV ${shrunk}) (select (local.get $shrunkV) ${signed} (local.get $abs))`;
}

/** `r = den = 0 ? degenerate : co / den` for one element or a pair. */
function ratio(kind: "f64" | "f64x2", co: string, den: string): string {
  return kind === "f64"
    ? `(select (local.get $degenerate) (f64.div ${co} ${den}) (f64.eq ${den} (f64.const 0)))`
    : `(v128.bitselect (local.get $degenerateV) (f64x2.div ${co} ${den}) (f64x2.eq ${den} (v128.const f64x2 0 0)))`;
}

/**
 * `view(m2, sdN, co, F, M, tol, abs, degenerate, out)`: the thresholded
 * correlations of `thresholdedFromMoments` in natural feature order,
 * `out[f·M + m] = threshold(C / (sqrt(M2x[f]) · sdN[m]))`, with the same
 * operations in the same order (so the same bits; NaN payloads aside), two
 * lanes at a time: across features when M = 1, across confounds otherwise.
 * `sdN` holds `sqrt(M2n)` computed by the caller.
 *
 * @returns The function's WAT.
 */
export function viewFunction(): string {
  const get = (name: string) => `(local.get $${name})`;
  const at = (base: string, index: string) =>
    `(i32.add ${get(base)} (i32.shl ${index} (i32.const 3)))`;
  // `local.set` returns nothing: compute r first, then store the thresholded value.
  const scalarElement = (index: string, den: string) => [
    `(local.set $r ${ratio("f64", `(f64.load ${at("co", index)})`, den)})`,
    `(f64.store ${at("out", index)} (block (result f64) ${threshold("f64", "(local.get $r)")}))`,
  ];
  const vectorElement = (index: string, den: string) => [
    `(local.set $rV ${ratio("f64x2", `(v128.load align=8 ${at("co", index)})`, den)})`,
    `(v128.store align=8 ${at("out", index)} (block (result v128) ${
      threshold("f64x2", "(local.get $rV)")
    }))`,
  ];
  return [
    '(func (export "view") (param $m2 i32) (param $sdN i32) (param $co i32) (param $F i32) (param $M i32)',
    "  (param $tol f64) (param $abs i32) (param $degenerate f64) (param $out i32)",
    "(local $f i32) (local $m i32) (local $i i32) (local $r f64) (local $shrunk f64) (local $sdX f64)",
    "(local $rV v128) (local $shrunkV v128) (local $tolV v128) (local $degenerateV v128) (local $sdV v128)",
    `(local.set $tolV (f64x2.splat ${get("tol")}))`,
    `(local.set $degenerateV (f64x2.splat ${get("degenerate")}))`,
    `(if (i32.eq ${get("M")} (i32.const 1))`,
    "  (then",
    `    (local.set $sdV (f64x2.splat (f64.load ${get("sdN")})))`,
    "    (block $pairs_done (loop $pairs",
    `      (br_if $pairs_done (i32.gt_u (i32.add ${get("f")} (i32.const 2)) ${get("F")}))`,
    ...vectorElement(
      get("f"),
      `(f64x2.mul (f64x2.sqrt (v128.load align=8 ${at("m2", get("f"))})) ${get("sdV")})`,
    ).map((line) => "      " + line),
    `      (local.set $f (i32.add ${get("f")} (i32.const 2)))`,
    "      (br $pairs)))",
    `    (if (i32.lt_u ${get("f")} ${get("F")}) (then`,
    ...scalarElement(
      get("f"),
      `(f64.mul (f64.sqrt (f64.load ${at("m2", get("f"))})) (f64.load ${get("sdN")}))`,
    ).map((line) => "      " + line),
    "    )))",
    "  (else",
    "    (block $features_done (loop $features",
    `      (br_if $features_done (i32.ge_u ${get("f")} ${get("F")}))`,
    `      (local.set $sdX (f64.sqrt (f64.load ${at("m2", get("f"))})))`,
    `      (local.set $sdV (f64x2.splat ${get("sdX")}))`,
    `      (local.set $i (i32.mul ${get("f")} ${get("M")}))`,
    "      (local.set $m (i32.const 0))",
    "      (block $confounds_done (loop $confounds",
    `        (br_if $confounds_done (i32.gt_u (i32.add ${get("m")} (i32.const 2)) ${get("M")}))`,
    ...vectorElement(
      `(i32.add ${get("i")} ${get("m")})`,
      `(f64x2.mul ${get("sdV")} (v128.load align=8 ${at("sdN", get("m"))}))`,
    ).map((line) => "        " + line),
    `        (local.set $m (i32.add ${get("m")} (i32.const 2)))`,
    "        (br $confounds)))",
    `      (if (i32.lt_u ${get("m")} ${get("M")}) (then`,
    ...scalarElement(
      `(i32.add ${get("i")} ${get("m")})`,
      `(f64.mul ${get("sdX")} (f64.load ${at("sdN", get("m"))}))`,
    ).map((line) => "        " + line),
    "      ))",
    `      (local.set $f (i32.add ${get("f")} (i32.const 1)))`,
    "      (br $features)))))",
    ")",
  ].join("\n");
}
