/**
 * The JSON snapshot of a correlation accumulator: its type, its encoding, and
 * its validation on restore by zod schemas (a discriminated union on
 * `version`; versions 1 and 2 are read), each rule with its message.
 *
 * @module
 */

import { z } from "zod";
import { BatchCorrError } from "../core/errors.ts";
import type { BatchMoments } from "../core/batch_moments.ts";
import { ownData } from "../core/own_properties.ts";
import type { MeanLowParts } from "../core/precise_means.ts";
import {
  addIssue,
  cauchySchwarzIssue,
  countsIssue,
  type DecodeResult,
  elementsIssue,
  emptyIssue,
  errorOfIssues,
  expectationsIssue,
  firstIssue,
  invalidSnapshot,
  limitIssue,
  lowPartsIssue,
  refused,
  shown,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  type SnapshotExpectations,
  type SnapshotIssue,
  snapshotMessage,
  type SnapshotState,
  UNKNOWN,
  VERSION_RULE,
} from "./_snapshot_rules.ts";

/**
 * The JSON snapshot of a `CorrelationAccumulator` (version 2).
 * Arrays are empty while the shape is not known. Version 1 snapshots, which
 * lack `meanXLo` and `meanNLo`, are still restored (low parts 0).
 */
export interface AccumulatorSnapshot {
  /** Always "batch-corr/accumulator". */
  format: "batch-corr/accumulator";
  /** The snapshot version, 2. */
  version: 2;
  /** X's shape without the batch axis, or null while unknown. */
  featureShape: number[] | null;
  /** M, or null while unknown. */
  confounds: number | null;
  /** Samples folded in (a sum of weights with exponential forgetting). */
  count: number;
  /** Σw², for the effective sample size (equals count for unit weights). */
  weightSquares: number;
  /** Feature means, natural column order, length F (rounded to float64; see `meanXLo`). */
  meanX: number[];
  /** Confound means, length M (rounded to float64; see `meanNLo`). */
  meanN: number[];
  /**
   * Low parts of the feature means: the mean is `meanX + meanXLo`, to about
   * 1e-32 relative (0 where float64 is precise enough), length F.
   */
  meanXLo: number[];
  /** Low parts of the confound means, length M. */
  meanNLo: number[];
  /** Feature sums of squared deviations, length F. */
  m2X: number[];
  /** Confound sums of squared deviations, length M. */
  m2N: number[];
  /** Co-moment, row-major `(F, M)`, natural feature order. */
  comoment: number[];
}

/**
 * Encodes a state as a JSON snapshot.
 *
 * @param state The state.
 * @returns The snapshot.
 */
export function encodeSnapshotJSON(state: SnapshotState): AccumulatorSnapshot {
  const m = state.moments && state.featureShape && state.confounds !== undefined
    ? state.moments
    : undefined;
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    featureShape: state.featureShape ? [...state.featureShape] : null,
    confounds: state.confounds ?? null,
    count: m?.count ?? 0,
    weightSquares: state.weightSquares,
    meanX: m ? Array.from(m.meanX) : [],
    meanN: m ? Array.from(m.meanN) : [],
    meanXLo: m ? lowParts(m.meanXLo, m.features) : [],
    meanNLo: m ? lowParts(m.meanNLo, m.confounds) : [],
    m2X: m ? Array.from(m.m2X) : [],
    m2N: m ? Array.from(m.m2N) : [],
    comoment: m ? Array.from(m.comoment) : [],
  };
}

function lowParts(lo: Float64Array | undefined, length: number): number[] {
  return lo ? Array.from(lo) : new Array<number>(length).fill(0);
}

const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"];
const PROTOTYPE_KEY_RULE = "it must not have a key named __proto__, constructor or prototype";

/** Keys of a version 1 snapshot, in the order messages list them. */
const KEYS_V1 = [
  "format",
  "version",
  "featureShape",
  "confounds",
  "count",
  "weightSquares",
  "meanX",
  "meanN",
  "m2X",
  "m2N",
  "comoment",
] as const;
/** Keys of a version 2 snapshot. */
const KEYS_V2 = [...KEYS_V1, "meanXLo", "meanNLo"] as const;

/** A missing key reaches its field's schema as undefined. */
function missingOr(key: string, rule: string, value: (input: unknown) => string) {
  return (issue: { input?: unknown }): string =>
    issue.input === undefined
      ? snapshotMessage(`it must have the key ${JSON.stringify(key)}`, "missing")
      : snapshotMessage(rule, value(issue.input));
}

/** An object from JSON: no prototype but Object's (or none), string keys only, none that reaches a prototype. */
const plainObjectSchema = z.unknown().superRefine((input, ctx) => {
  const refuse = (rule: string, value: string): void =>
    ctx.addIssue({ code: "custom", message: snapshotMessage(rule, value) });
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return refuse("it must be an object or its JSON text", typeof input);
  }
  const prototype = Object.getPrototypeOf(input);
  if (prototype !== Object.prototype && prototype !== null) {
    return refuse("it must be a plain object", "an object with a custom prototype");
  }
  for (const key of Reflect.ownKeys(input)) {
    if (typeof key !== "string") return refuse("it must only have string keys", "a symbol key");
    if (PROTOTYPE_KEYS.includes(key)) return refuse(PROTOTYPE_KEY_RULE, JSON.stringify(key));
  }
});

const formatSchema = z.literal(SNAPSHOT_FORMAT, {
  error: missingOr("format", `format must be ${JSON.stringify(SNAPSHOT_FORMAT)}`, shown),
});

const featureShapeSchema = z.custom<number[] | null>(
  (value) =>
    value === null ||
    (Array.isArray(value) &&
      value.every((e) => typeof e === "number" && Number.isInteger(e) && e > 0 && e < UNKNOWN)),
  {
    error: missingOr(
      "featureShape",
      "featureShape must be null or an array of positive integers",
      shown,
    ),
  },
);

const confoundsSchema = z.custom<number | null>(
  (value) =>
    value === null ||
    (typeof value === "number" && Number.isInteger(value) && value >= 1 && value < UNKNOWN),
  { error: missingOr("confounds", "confounds must be null or a positive integer", shown) },
);

function numberSchema(key: string) {
  return z.custom<number>((value) => typeof value === "number", {
    error: missingOr(key, `${key} must be a number`, (input) => typeof input),
  });
}

function arraySchema(key: string) {
  return z.custom<unknown[]>(Array.isArray, {
    error: missingOr(key, `${key} must be an array of numbers`, (input) => typeof input),
  });
}

const fields = {
  format: formatSchema,
  featureShape: featureShapeSchema,
  confounds: confoundsSchema,
  count: numberSchema("count"),
  weightSquares: numberSchema("weightSquares"),
  meanX: arraySchema("meanX"),
  meanN: arraySchema("meanN"),
  m2X: arraySchema("m2X"),
  m2N: arraySchema("m2N"),
  comoment: arraySchema("comoment"),
};

function extraKeyError(keys: readonly string[]) {
  return (issue: { code?: string; keys?: string[] }): string | undefined =>
    issue.code === "unrecognized_keys"
      ? snapshotMessage(
        `it must only have the keys ${keys.join(", ")}`,
        `an extra key ${JSON.stringify(issue.keys![0])}`,
      )
      : undefined;
}

/** Version 1: no low parts. */
const snapshotV1Schema = z.strictObject({ ...fields, version: z.literal(1) }, {
  error: extraKeyError(KEYS_V1),
});

/** Version 2 (written by this library): the means' low parts too. */
const snapshotV2Schema = z.strictObject(
  {
    ...fields,
    version: z.literal(2),
    meanXLo: arraySchema("meanXLo"),
    meanNLo: arraySchema("meanNLo"),
  },
  { error: extraKeyError(KEYS_V2) },
);

type ParsedSnapshot = z.output<typeof snapshotV1Schema> | z.output<typeof snapshotV2Schema>;

/** Either version, told apart by `version`. */
const snapshotSchema = plainObjectSchema.pipe(
  z.discriminatedUnion("version", [snapshotV1Schema, snapshotV2Schema], {
    error: (issue) => {
      const input = issue.input as Record<string, unknown>;
      return Object.hasOwn(input, "version")
        ? snapshotMessage(VERSION_RULE, shown(input.version))
        : snapshotMessage('it must have the key "version"', "missing");
    },
  }),
);

/** The arrays of a parsed snapshot, in the order they are checked, with their lengths. */
function arraysOf(
  snapshot: ParsedSnapshot,
  F: number,
  M: number,
): [string, unknown[], number, boolean][] {
  const arrays: [string, unknown[], number, boolean][] = [
    ["meanX", snapshot.meanX, F, false],
    ["meanN", snapshot.meanN, M, false],
    ["m2X", snapshot.m2X, F, true],
    ["m2N", snapshot.m2N, M, true],
    ["comoment", snapshot.comoment, F * M, false],
  ];
  if (snapshot.version === 2) {
    arrays.push(["meanXLo", snapshot.meanXLo, F, false], ["meanNLo", snapshot.meanNLo, M, false]);
  }
  return arrays;
}

/**
 * The rules across fields, in order: the expected shape, the element cap,
 * the counts, each array's length and elements, then the moments' own bounds;
 * the state they describe when every rule holds.
 */
function restoredState(
  snapshot: ParsedSnapshot,
  expected: SnapshotExpectations,
  ctx: z.core.$RefinementCtx,
): SnapshotState | typeof z.NEVER {
  const featureShape = snapshot.featureShape ?? undefined;
  const confounds = snapshot.confounds ?? undefined;
  const known = featureShape !== undefined && confounds !== undefined;
  const F = known ? featureShape.reduce((a, b) => a * b, 1) : 0;
  const M = known ? confounds : 0;
  const found = firstIssue(
    () => expectationsIssue(featureShape, confounds, expected),
    () => limitIssue(F, M, expected),
    () => countsIssue(snapshot.count, snapshot.weightSquares),
    ...arraysOf(snapshot, F, M).map(([key, values, length, nonNegative]) => () =>
      values.length === length
        ? elementsIssue(key, values, nonNegative)
        : lengthIssue(key, length, values.length)
    ),
    () => known ? undefined : emptyIssue(snapshot.count),
  );
  if (found) return reject(ctx, found);
  if (!known) return { featureShape, confounds, weightSquares: 0, moments: undefined };
  const moments = momentsOf(snapshot, F, M);
  const bound = firstIssue(() => lowPartsIssue(moments), () => cauchySchwarzIssue(moments));
  if (bound) return reject(ctx, bound);
  return {
    featureShape: [...featureShape],
    confounds,
    weightSquares: snapshot.weightSquares,
    moments,
  };
}

function lengthIssue(key: string, length: number, seen: number): SnapshotIssue {
  const rule = `${key} must have length ${length} (from featureShape and confounds)`;
  return { message: snapshotMessage(rule, `length ${seen}`), code: "invalid_snapshot" };
}

function reject(ctx: z.core.$RefinementCtx, found: SnapshotIssue): typeof z.NEVER {
  addIssue(ctx, found);
  return z.NEVER;
}

function momentsOf(snapshot: ParsedSnapshot, F: number, M: number): BatchMoments & MeanLowParts {
  const lows: MeanLowParts = snapshot.version === 2
    ? {
      meanXLo: Float64Array.from(snapshot.meanXLo as number[]),
      meanNLo: Float64Array.from(snapshot.meanNLo as number[]),
    }
    : { meanXLo: new Float64Array(F), meanNLo: new Float64Array(M) };
  return {
    count: snapshot.count,
    features: F,
    confounds: M,
    meanX: Float64Array.from(snapshot.meanX as number[]),
    meanN: Float64Array.from(snapshot.meanN as number[]),
    m2X: Float64Array.from(snapshot.m2X as number[]),
    m2N: Float64Array.from(snapshot.m2N as number[]),
    comoment: Float64Array.from(snapshot.comoment as number[]),
    ...lows,
  };
}

/** Rejects keys that could reach an object's prototype if ever copied. */
function rejectPrototypeKeys(key: string, value: unknown): unknown {
  if (PROTOTYPE_KEYS.includes(key)) throw invalidSnapshot(PROTOTYPE_KEY_RULE, JSON.stringify(key));
  return value;
}

/** JSON text to a value, or the error saying why it is not JSON (or holds a prototype key). */
function parseText(
  text: string,
): { success: true; data: unknown } | { success: false; error: BatchCorrError } {
  try {
    return { success: true, data: JSON.parse(text, rejectPrototypeKeys) };
  } catch (error) {
    if (error instanceof BatchCorrError) return refused(error);
    return refused(
      invalidSnapshot(
        "it must be valid JSON",
        `text that does not parse (${(error as Error).message})`,
      ),
    );
  }
}

/**
 * The snapshot as the schema reads it: its own properties only, each read
 * once (a key missing from the snapshot is missing, whatever Object.prototype
 * holds; a hole in an array is not a number, whatever Array.prototype holds;
 * a getter cannot pass validation with one value and restore another), or the
 * refusal of an object whose properties cannot be read.
 *
 * @param data The snapshot object, parsed or given.
 * @param maxElements The cap on F·M: no array of a valid snapshot is longer.
 */
function ownSnapshot(
  data: unknown,
  maxElements: number,
): { success: true; data: unknown } | { success: false; error: BatchCorrError } {
  try {
    return { success: true, data: ownData(data, maxElements) };
  } catch (error) {
    return refused(
      invalidSnapshot(
        "it must be plain data whose properties can be read",
        `an object whose property could not be read (${
          error instanceof Error ? error.message : shown(error)
        })`,
      ),
    );
  }
}

/**
 * Decodes and validates a JSON snapshot, reporting failure as a value.
 *
 * @param json The snapshot object or its JSON text.
 * @param expected The shape it must have and the element cap.
 * @returns The state, or the error: "invalid_snapshot" for anything
 * malformed, "resource_limit" for a declared F·M above the cap.
 */
export function decodeSnapshotJSON(json: unknown, expected: SnapshotExpectations): DecodeResult {
  const text = typeof json === "string" ? parseText(json) : { success: true as const, data: json };
  if (!text.success) return text;
  const own = ownSnapshot(text.data, expected.maxElements);
  if (!own.success) return own;
  const schema = snapshotSchema.transform((snapshot, ctx) =>
    restoredState(snapshot, expected, ctx)
  );
  const parsed = schema.safeParse(own.data);
  return parsed.success
    ? { success: true, data: parsed.data }
    : refused(errorOfIssues(parsed.error.issues));
}
