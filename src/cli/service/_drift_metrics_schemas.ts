/**
 * The zod schemas that `DriftMetrics` checks its options and
 * records against.
 *
 * @module
 */

import { z } from "zod";

const numberRule = "a number (null or NaN when there is none)";
const maybeNumber = z.custom<number | null>(
  (value) => value === null || typeof value === "number",
  { error: numberRule, params: { kind: "type" } },
);
const count = z.number({ error: "a non-negative integer" }).int({ error: "a non-negative integer" })
  .nonnegative({ error: "a non-negative integer" });

export const recordSchema = z.object({
  index: count,
  batchSize: maybeNumber,
  count: z.number({ error: "a non-negative number" }).nonnegative({
    error: "a non-negative number",
  }),
  tol: maybeNumber,
  loss: maybeNumber,
  running: z.object({ tol: maybeNumber, loss: maybeNumber }, { error: "an object { tol, loss }" }),
  window: z.object({ tol: maybeNumber, loss: maybeNumber, effectiveCount: maybeNumber }, {
    error: "an object { tol, loss, effectiveCount }",
  }).optional(),
  skipped: z.object({ reason: z.string({ error: "a string" }) }, { error: "an object { reason }" })
    .optional(),
}, { error: "an object with the fields of a BatchResult" });

export const rowsSchema = z.object({ read: count, rejected: count }, {
  error: "an object { read, rejected } of running totals",
});

export const totalsSchema = z.object({ batches: count, skipped: count, samples: count }, {
  error: "an object { batches, skipped, samples } of running totals",
});

export const recordOptionsSchema = z.strictObject({
  alert: z.boolean({ error: "a boolean" }),
  rows: rowsSchema.optional(),
  totals: totalsSchema.optional(),
}, { error: "an object { alert, rows?, totals? }" });

export const optionsSchema = z.strictObject({
  features: z.array(z.string({ error: "a string" }), { error: "an array of feature names" }),
  confounds: z.array(z.string({ error: "a string" }), { error: "an array of confound names" })
    .min(1, { error: "an array of at least one confound name" }),
  top: z.number({ error: "an integer from 1 to 1000" }).int({ error: "an integer from 1 to 1000" })
    .min(1, { error: "an integer from 1 to 1000" }).max(1000, {
      error: "an integer from 1 to 1000",
    })
    .default(5),
  alertLevel: z.number({ error: "a finite number" }).optional(),
  correlations: z.custom<() => Float64Array | undefined>(
    (value) => typeof value === "function",
    { error: "a function returning the running correlations", params: { kind: "type" } },
  ).optional(),
  idleAfterMs: z.number({ error: "a positive integer (milliseconds)" })
    .int({ error: "a positive integer (milliseconds)" })
    .positive({ error: "a positive integer (milliseconds)" }).default(60_000),
}, { error: "an object { features, confounds, top?, alertLevel?, correlations?, idleAfterMs? }" });

const namesLater = (what: string) =>
  z.custom<() => readonly string[]>((value) => typeof value === "function", {
    error: `a function returning the ${what} names (both are functions, or both arrays)`,
    params: { kind: "type" },
  });

/** The options when the names come later: `features` and `confounds` are functions. */
export const lateNamesOptionsSchema = optionsSchema.extend({
  features: namesLater("feature"),
  confounds: namesLater("confound"),
});
