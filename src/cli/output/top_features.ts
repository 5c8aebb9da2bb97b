/**
 * The features most correlated with each confound, for the report.
 *
 * @module
 */

/**
 * The `top` features by |r| for each confound, from signed correlations;
 * ties in |r| are broken by name.
 *
 * @param correlations The signed correlations, `(F, M)` row-major.
 * @param features The feature names (F).
 * @param confounds The confound names (M).
 * @param top How many features to keep per confound.
 * @returns Per confound, its features in decreasing |r|.
 *
 * @example Two features and one confound
 * ```ts
 * import { topFeatures } from "./top_features.ts";
 * import assert from "node:assert/strict";
 *
 * const [entry] = topFeatures(new Float64Array([0.2, -0.9]), ["a", "b"], ["c"], 1);
 * assert.deepEqual(entry, { confound: "c", features: [{ name: "b", r: -0.9 }] });
 * ```
 */
export function topFeatures(
  correlations: Float64Array,
  features: readonly string[],
  confounds: readonly string[],
  top: number,
): { confound: string; features: { name: string; r: number }[] }[] {
  const M = confounds.length;
  return confounds.map((confound, m) => {
    const ranked = features.map((name, f) => ({ name, r: correlations[f * M + m]! }));
    ranked.sort((a, b) => Math.abs(b.r) - Math.abs(a.r) || a.name.localeCompare(b.name));
    return { confound, features: ranked.slice(0, top) };
  });
}
