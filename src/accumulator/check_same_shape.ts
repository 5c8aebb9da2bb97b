/**
 * The check that a batch has the shape of the state it joins, shared by the
 * accumulator and the streams (each names the shapes in its own words).
 *
 * @module
 */

import { ruleMessage, shapeText } from "../core/errors.ts";

/** How a message names the feature shape and the number of confounds. */
export interface ShapeSubjects {
  /** E.g. "the feature shape (X's shape without the batch axis)". */
  readonly featureShape: string;
  /** E.g. "the number of confounds". */
  readonly confounds: string;
}

/** The accumulator's words. */
export const ACCUMULATOR_SUBJECTS: ShapeSubjects = {
  featureShape: "the feature shape (X's shape without the batch axis)",
  confounds: "the number of confounds",
};

/** The streams' words, naming their batches' `x` and `n`. */
export const STREAM_SUBJECTS: ShapeSubjects = {
  featureShape: "the feature shape of x (its shape without the batch axis)",
  confounds: "the number of confounds in n",
};

/**
 * Throws unless a batch's feature shape and number of confounds are those of
 * the state, where the state has them already.
 *
 * @param known The state's feature shape and M (undefined while not fixed).
 * @param featureShape The batch's feature shape.
 * @param confounds The batch's M.
 * @param context What was being done, for messages.
 * @param subjects How the message names the two.
 * @throws {TypeError} Naming the expected and the seen shape or M.
 */
export function checkSameShape(
  known: { featureShape: readonly number[] | undefined; confounds: number | undefined },
  featureShape: readonly number[],
  confounds: number,
  context: string,
  subjects: ShapeSubjects = ACCUMULATOR_SUBJECTS,
): void {
  const expected = known.featureShape;
  if (
    expected &&
    !(expected.length === featureShape.length && expected.every((e, i) => e === featureShape[i]))
  ) {
    throw new TypeError(
      `Cannot ${context} as ${subjects.featureShape} must be ${
        shapeText(expected)
      }, as in earlier batches: current value is ${shapeText(featureShape)}`,
    );
  }
  if (known.confounds !== undefined && known.confounds !== confounds) {
    throw new TypeError(
      ruleMessage(
        context,
        subjects.confounds,
        `${known.confounds}, as in earlier batches`,
        confounds,
      ),
    );
  }
}
