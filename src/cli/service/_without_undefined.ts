/**
 * A copy of an object without its undefined fields.
 *
 * @module
 */

/** The object without its undefined fields, as `exactOptionalPropertyTypes` options want. */
export function withoutUndefined<T extends object>(
  value: T,
): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
