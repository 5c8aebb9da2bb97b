/**
 * The column names of the drift metric set, given at once or learnt later
 * (an aggregating monitor knows them from the first batch its workers
 * commit), with the confounds' unique label values.
 *
 * @module
 */

/** The names now: feature names, confound names, and the confounds' label values. */
export interface ColumnNames {
  /** Feature names, in the order of the correlation rows ([] while unknown). */
  features: readonly string[];
  /** Confound names, in the order of the correlation columns ([] while unknown). */
  confounds: readonly string[];
  /** The confounds' label values: their names, with `#2`, `#3`… on repeats. */
  confoundLabels: readonly string[];
  /** Whether the names are known (always, when they were given as arrays). */
  known: boolean;
}

/** Names given as arrays, or as functions that return [] until they are known. */
export type NamesOption = readonly string[] | (() => readonly string[]);

/** Label values for the confounds: their names, with `#2`, `#3`… on repeats so that no two series share labels. */
export function uniqueLabels(names: readonly string[]): string[] {
  const seen = new Map<string, number>();
  const taken = new Set(names);
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    if (n === 1) return name;
    let label = `${name}#${n}`;
    while (taken.has(label)) label += "'";
    taken.add(label);
    return label;
  });
}

/**
 * The names of a metric set: fixed, or read from the functions each time and
 * relabelled only when the confounds change.
 *
 * @param features The feature names, or a function returning them.
 * @param confounds The confound names, or a function returning them.
 * @returns A function giving the names now.
 */
export function columnNames(features: NamesOption, confounds: NamesOption): () => ColumnNames {
  if (typeof features !== "function" && typeof confounds !== "function") {
    const fixed = { features, confounds, confoundLabels: uniqueLabels(confounds), known: true };
    return () => fixed;
  }
  let cached: ColumnNames | undefined;
  return () => {
    const f = typeof features === "function" ? features() : features;
    const m = typeof confounds === "function" ? confounds() : confounds;
    if (cached?.features !== f || cached.confounds !== m) {
      cached = { features: f, confounds: m, confoundLabels: uniqueLabels(m), known: m.length > 0 };
    }
    return cached;
  };
}
