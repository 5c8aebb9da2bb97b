/**
 * The check that keeps the drift metrics' counters going only up: a running
 * total given by the caller (rows read, batches committed) may not decrease.
 *
 * @module
 */

/**
 * Refuses a running total below the one recorded so far.
 *
 * @param before The totals so far.
 * @param after The totals given now.
 * @param context What was being done, for the message.
 * @param subject The name of `after` in the message ("options.rows").
 * @throws {RangeError} Naming the first total that decreases.
 */
export function checkRunningTotals<K extends string>(
  before: Readonly<Record<K, number>>,
  after: Readonly<Record<K, number>>,
  context: string,
  subject: string,
): void {
  for (const key of Object.keys(before) as K[]) {
    if (after[key] < before[key]) {
      throw new RangeError(
        `Cannot ${context} as ${subject}.${key} must not decrease (it is a running total, ${
          before[key]
        } so far): current value is ${after[key]}`,
      );
    }
  }
}
