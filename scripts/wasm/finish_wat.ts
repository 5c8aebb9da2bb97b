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
