/**
 * The top-k families of the drift metric set: the rank-th largest running
 * |r| per confound, and the feature at that rank.
 *
 * @module
 */

import { topFeatures } from "./_deps.ts";
import { gauge } from "./_metric_families.ts";
import type { MetricFamily, MetricSample } from "./prometheus_text.ts";

/** The names {@linkcode topFeatureFamilies} labels its series with. */
export interface TopFeatureNames {
  /** Feature names, in the order of the correlation rows. */
  features: readonly string[];
  /** Confound names, in the order of the correlation columns. */
  confounds: readonly string[];
  /** The confounds' label values (unique). */
  confoundLabels: readonly string[];
  /** k, at most F. */
  top: number;
}

/**
 * The families `batch_corr_top_abs_correlation` and `batch_corr_top_feature_info`.
 *
 * @param correlations The signed running correlations, `(F, M)` row-major, or undefined (no series).
 * @param names The names and k.
 * @returns The two families.
 * @throws {TypeError} If `correlations` is not a Float64Array of F × M values.
 */
export function topFeatureFamilies(
  correlations: Float64Array | undefined,
  names: TopFeatureNames,
): [MetricFamily, MetricFamily] {
  const top: MetricSample[] = [];
  const info: MetricSample[] = [];
  if (correlations !== undefined) {
    const F = names.features.length;
    const M = names.confounds.length;
    if (!(correlations instanceof Float64Array) || correlations.length !== F * M) {
      throw new TypeError(
        `Cannot rank the features as options.correlations() must return a Float64Array of F × M = ${
          F * M
        } values: current value is ${
          correlations instanceof Float64Array
            ? `of length ${correlations.length}`
            : typeof correlations
        }`,
      );
    }
    const ranked = topFeatures(correlations, names.features, names.confounds, names.top);
    ranked.forEach((entry, m) => {
      const confound = names.confoundLabels[m]!;
      entry.features.forEach((feature, i) => {
        const rank = String(i + 1);
        top.push({ labels: { confound, rank }, value: Math.abs(feature.r) });
        info.push({ labels: { confound, rank, feature: feature.name }, value: 1 });
      });
    });
  }
  const families: [MetricFamily, MetricFamily] = [
    gauge(
      "batch_corr_top_abs_correlation",
      "The rank-th largest running |r| with the confound (signed r before the tolerance, in absolute value).",
      top,
    ),
    gauge(
      "batch_corr_top_feature_info",
      "The feature at that rank, as the label feature (value 1).",
      info,
    ),
  ];
  return families;
}
