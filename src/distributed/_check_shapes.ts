/**
 * The check of the shapes an envelope can carry: x of rank 1–32, n of
 * `(B)` or `(M, B)`, the same batch size, extents below 2³².
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import { MAX_RANK } from "./_envelope_layout.ts";

export function checkShapes(
  xShape: readonly number[],
  nShape: readonly number[],
  context: string,
): void {
  if (xShape.length < 1 || xShape.length > MAX_RANK || xShape.some((e) => e < 1)) {
    throw new TypeError(
      ruleMessage(
        context,
        "x's shape",
        `1 to ${MAX_RANK} positive extents, batch first`,
        `[${xShape.join(", ")}]`,
      ),
    );
  }
  if ((nShape.length !== 1 && nShape.length !== 2) || nShape.some((e) => e < 1)) {
    throw new TypeError(
      ruleMessage(
        context,
        "n's shape",
        "(B) or (M, B) with positive extents",
        `[${nShape.join(", ")}]`,
      ),
    );
  }
  if (nShape[nShape.length - 1] !== xShape[0]) {
    throw new TypeError(
      ruleMessage(
        context,
        "n's last extent",
        `x's batch size ${xShape[0]} (n is (B) or (M, B))`,
        nShape[nShape.length - 1],
      ),
    );
  }
  if (xShape.some((e) => e > 0xffffffff) || nShape.some((e) => e > 0xffffffff)) {
    throw new TypeError(
      ruleMessage(
        context,
        "every extent",
        "below 2³²",
        `x [${xShape.join(", ")}], n [${nShape.join(", ")}]`,
      ),
    );
  }
}
