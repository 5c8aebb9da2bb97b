/**
 * Property tests of the snapshot bounds: random valid accumulator states and
 * one targeted corruption each of their JSON (object and text) and binary
 * snapshots (Cauchy–Schwarz broken, zero and negative sums of squares, counts
 * beyond 2^53, low parts too large, wrong lengths, non-finite values, extra,
 * missing and prototype keys, inherited keys, changing getters, truncation,
 * a shape other than `expected`). Every corruption must be refused for its own
 * reason by fromJSON / fromBytes with the error safeFromJSON / safeFromBytes
 * return (without throwing); every accepted snapshot must give |r| ≤ 1 and
 * the correlations of the original state (the reference: batchCorr of the
 * concatenated data).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  batchCorr,
  BatchCorrError,
  CorrelationAccumulator,
  type CorrelationAccumulatorOptions,
} from "../../mod.ts";
import {
  assertClose,
  assertNoPollution,
  assertSameArray,
  concat,
  type DenseBatch,
  makeBatches,
  planArbitrary,
  RUNS,
  SEED,
} from "../fuzz_support.ts";

/** The float64 fields of a snapshot, in the binary layout's order after the header. */
const VECTORS = ["meanX", "meanN", "meanXLo", "meanNLo", "m2X", "m2N", "comoment"] as const;
type Vector = typeof VECTORS[number];
type NumberField = "count" | "weightSquares" | Vector;
const FLOOR = 2 ** -1022;
const LOW_PART_BOUND = 2 ** -40;

/** A valid state: the accumulator, the batches it kept and one more batch for after the restore. */
interface ValidState {
  accumulator: CorrelationAccumulator;
  kept: DenseBatch[];
  extra: DenseBatch;
  F: number;
  M: number;
}

const stateArbitrary: fc.Arbitrary<ValidState> = fc.record({
  featureShape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
  confounds: fc.integer({ min: 1, max: 3 }),
  plan: planArbitrary(3),
  extraSeed: fc.integer(),
  extraSize: fc.integer({ min: 1, max: 5 }),
}).map(({ featureShape, confounds, plan, extraSeed, extraSize }) => {
  const accumulator = new CorrelationAccumulator();
  const kept: DenseBatch[] = [];
  for (const batch of makeBatches(plan, featureShape, confounds)) {
    try {
      accumulator.update(batch.x, batch.n);
      kept.push(batch);
    } catch {
      // A batch beyond float64's range for the running state: not kept, the state unchanged.
    }
  }
  const extraPlan = { ...plan, sizes: [extraSize], seed: extraSeed, scale: 1, offsetSteps: 0 };
  const [extra] = makeBatches(extraPlan, featureShape, confounds);
  const F = featureShape.reduce((a, b) => a * b, 1);
  return { accumulator, kept, extra: extra!, F, M: confounds };
});

/** The byte offset of a float64 field's element in a binary snapshot (version 2). */
function offsetOf(bytes: Uint8Array, field: NumberField, index: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rankField = view.getUint32(8, true);
  const rank = rankField === 0xffffffff ? 0 : rankField;
  const header = Math.ceil((16 + 4 * rank) / 8) * 8;
  if (field === "count") return header;
  if (field === "weightSquares") return header + 8;
  const M = view.getUint32(12, true);
  let F = 1;
  for (let i = 0; i < rank; i++) F *= view.getUint32(16 + 4 * i, true);
  const lengths: Record<Vector, number> = {
    meanX: F,
    meanN: M,
    meanXLo: F,
    meanNLo: M,
    m2X: F,
    m2N: M,
    comoment: F * M,
  };
  let offset = header + 16;
  for (const vector of VECTORS) {
    if (vector === field) return offset + 8 * index;
    offset += 8 * lengths[vector];
  }
  throw new Error(`no field ${field}`);
}

/** The three forms of one snapshot, changed together. */
interface Forms {
  object: Record<string, unknown>;
  bytes: Uint8Array;
}

function formsOf(accumulator: CorrelationAccumulator): Forms {
  return {
    object: JSON.parse(JSON.stringify(accumulator)) as Record<string, unknown>,
    bytes: accumulator.toBytes(),
  };
}

/** Sets one number in both the JSON object and the bytes. */
function setNumber(forms: Forms, field: NumberField, index: number, value: number): void {
  if (field === "count" || field === "weightSquares") forms.object[field] = value;
  else (forms.object[field] as number[])[index] = value;
  new DataView(forms.bytes.buffer).setFloat64(offsetOf(forms.bytes, field, index), value, true);
}

/** JSON text in which ±Infinity are written as 1e999 and -1e999 (which JSON.parse reads back). */
function textOf(object: unknown): string {
  return JSON.stringify(
    object,
    (_key, value) => value === Infinity ? "__inf__" : value === -Infinity ? "__-inf__" : value,
  )
    .replaceAll('"__inf__"', "1e999").replaceAll('"__-inf__"', "-1e999");
}

/**
 * What a corruption must lead to: refused with `code` for a reason matching
 * `reason`, in each form it applies to; or accepted, compared with `check`.
 */
type Outcome =
  | {
    refused: true;
    code: "invalid_snapshot" | "resource_limit";
    reason: RegExp;
    object?: unknown;
    /** A fresh object for each decode (its getters count their reads). */
    makeObject?: () => unknown;
    text?: string;
    bytes?: Uint8Array;
    expected?: CorrelationAccumulatorOptions;
    /** Keys set on Object.prototype or Array.prototype while the snapshot is decoded. */
    pollution?: [object, PropertyKey, unknown][];
  }
  | {
    refused: false;
    object?: unknown;
    makeObject?: () => unknown;
    text?: string;
    bytes?: Uint8Array;
    /**
     * "same": the original's correlations bit for bit; "bounded": |r| ≤ 1 within the slack,
     * before and after an update; "zeroed": the column's variance set to 0; "reshaped": the
     * same numbers under another feature shape.
     */
    check: "same" | "bounded" | { zeroed: "x" | "n"; index: number } | { reshaped: number[] };
  }
  | undefined;

const pick = <T>(values: readonly T[], at: number): T => values[at % values.length]!;

/** Every corruption and accepted change, with its parameters. */
const changeArbitrary = fc.oneof(
  fc.record({
    kind: fc.constant("beyondBound" as const),
    at: fc.nat(),
    factor: fc.constantFrom(1 + 1e-7, 1.001, 2, 1e3, 1e100),
    negative: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("atBound" as const),
    at: fc.nat(),
    factor: fc.constantFrom(1, 1 - 1e-12, 1 + 1e-12, 1 + 5e-10),
    negative: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("zeroSumOfSquares" as const),
    side: fc.constantFrom("x", "n", "both"),
    at: fc.nat(),
    comoment: fc.constantFrom(0, 1e-150, 1e-100, 1e-10, 1, 1e6, 1e100),
    negative: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("withinFloor" as const),
    side: fc.constantFrom("x" as const, "n" as const),
    at: fc.nat(),
    fraction: fc.constantFrom(0, 0.25, 0.5, 0.999),
  }),
  fc.record({
    kind: fc.constant("negative" as const),
    field: fc.constantFrom("m2X" as const, "m2N" as const),
    at: fc.nat(),
    magnitude: fc.constantFrom(5e-324, 1e-300, 1e-9, 1, 1e300),
  }),
  fc.record({
    kind: fc.constant("countBeyond" as const),
    count: fc.constantFrom(2 ** 53, 2 ** 53 + 2, 2 ** 60, 1e17, 1e300, Number.MAX_VALUE),
  }),
  fc.record({
    kind: fc.constant("weightSquares" as const),
    how: fc.constantFrom("aboveCount", "zero", "negative", "belowEffective"),
  }),
  fc.record({
    kind: fc.constant("lowPart" as const),
    field: fc.constantFrom("meanXLo" as const, "meanNLo" as const),
    at: fc.nat(),
    factor: fc.constantFrom(2, 1e3, 1e10),
    negative: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant("nonFinite" as const),
    field: fc.constantFrom<NumberField>("count", "weightSquares", ...VECTORS),
    at: fc.nat(),
    value: fc.constantFrom(Number.NaN, Infinity, -Infinity),
    nanBits: fc.constantFrom(0x7ff80000, 0x7ff00001, 0xfff80000, 0x7fffffff),
  }),
  fc.record({
    kind: fc.constant("length" as const),
    field: fc.constantFrom<Vector>(...VECTORS),
    delta: fc.constantFrom(-1, 1, 3),
  }),
  fc.record({
    kind: fc.constant("header" as const),
    field: fc.constantFrom("format", "version", "featureShape", "confounds"),
    value: fc.constantFrom<unknown>(0, 3, -1, 1.5, "2", null, [], [0], [2.5], 2 ** 32, "other"),
  }),
  fc.record({
    kind: fc.constant("keys" as const),
    how: fc.constantFrom(
      "extra",
      "missing",
      "prototypeKey",
      "symbolKey",
      "customPrototype",
      "v1WithLowParts",
      "inheritedFromObjectPrototype",
    ),
    key: fc.constantFrom(
      "count",
      "weightSquares",
      "meanX",
      "m2X",
      "m2N",
      "comoment",
      "meanXLo",
      "format",
      "version",
      "featureShape",
      "confounds",
    ),
    name: fc.constantFrom("__proto__", "constructor", "prototype", "extra", "polluted", "toString"),
  }),
  fc.record({
    kind: fc.constant("arrayElement" as const),
    how: fc.constantFrom("holeInherited", "getterThenBad", "badThenGetter", "throwingGetter"),
    field: fc.constantFrom<Vector>("meanX", "m2X", "m2N", "comoment"),
    at: fc.nat(),
  }),
  fc.record({ kind: fc.constant("truncate" as const), cut: fc.nat() }),
  fc.record({
    kind: fc.constant("expected" as const),
    how: fc.constantFrom("featureShape", "rank", "confounds", "maxElements"),
  }),
  fc.record({
    kind: fc.constant("accepted" as const),
    how: fc.constantFrom("reorderKeys", "pretty", "version1", "negativeZero", "reshape", "offset"),
    at: fc.nat(),
  }),
);
type Change = typeof changeArbitrary extends fc.Arbitrary<infer T> ? T : never;

const REFUSED = { refused: true as const, code: "invalid_snapshot" as const };

/** Applies a change to a state's snapshots; undefined where it does not apply to this state. */
function apply(state: ValidState, change: Change, forms = formsOf(state.accumulator)): Outcome {
  const { accumulator, F, M } = state;
  const known = accumulator.featureShape !== undefined && accumulator.confounds > 0;
  const vectors = (): Record<Vector, number[]> =>
    forms.object as unknown as Record<Vector, number[]>;
  const both = (reason: RegExp): Outcome => ({
    ...REFUSED,
    reason,
    object: forms.object,
    text: textOf(forms.object),
    bytes: forms.bytes,
  });
  const floorBound = (f: number, m: number): number =>
    Math.sqrt(vectors().m2X[f]! + FLOOR) * Math.sqrt(vectors().m2N[m]! + FLOOR);
  switch (change.kind) {
    case "beyondBound": {
      if (!known) return undefined;
      const i = change.at % (F * M), f = Math.floor(i / M), m = i % M;
      const bound = floorBound(f, m);
      let c = bound * change.factor;
      if (!Number.isFinite(c)) c = Number.MAX_VALUE;
      if (!(c > bound * (1 + 1e-9))) return undefined;
      setNumber(forms, "comoment", i, change.negative ? -c : c);
      return both(/every comoment must satisfy \|comoment\| ≤ √m2X·√m2N/);
    }
    case "atBound": {
      // A co-moment at the bound, or past it by less than the rounding slack: accepted.
      if (!known) return undefined;
      const i = change.at % (F * M), f = Math.floor(i / M), m = i % M;
      const m2x = vectors().m2X[f]!, m2n = vectors().m2N[m]!;
      if (m2x === 0 || m2n === 0) return undefined;
      const c = Math.sqrt(m2x) * Math.sqrt(m2n) * change.factor;
      setNumber(forms, "comoment", i, change.negative ? -c : c);
      return {
        refused: false,
        object: forms.object,
        text: textOf(forms.object),
        bytes: forms.bytes,
        check: "bounded",
      };
    }
    case "zeroSumOfSquares": {
      if (!known) return undefined;
      const i = change.at % (F * M), f = Math.floor(i / M), m = i % M;
      if (change.side !== "n") setNumber(forms, "m2X", f, 0);
      if (change.side !== "x") setNumber(forms, "m2N", m, 0);
      const c = Math.max(change.comoment, floorBound(f, m) * (1 + 1e-6));
      setNumber(forms, "comoment", i, change.negative ? -c : c);
      return both(/every comoment must satisfy \|comoment\| ≤ √m2X·√m2N/);
    }
    case "withinFloor": {
      if (!known) return undefined;
      const index = change.side === "x" ? change.at % F : change.at % M;
      setNumber(forms, change.side === "x" ? "m2X" : "m2N", index, 0);
      const pairs = change.side === "x"
        ? Array.from({ length: M }, (_, m) => [index, m] as const)
        : Array.from({ length: F }, (_, f) => [f, index] as const);
      for (const [f, m] of pairs) {
        const c = change.fraction * floorBound(f, m);
        setNumber(forms, "comoment", f * M + m, (f + m) % 2 === 0 ? c : -c);
      }
      return {
        refused: false,
        object: forms.object,
        text: textOf(forms.object),
        bytes: forms.bytes,
        check: { zeroed: change.side, index },
      };
    }
    case "negative": {
      if (!known) return undefined;
      const index = change.at % (change.field === "m2X" ? F : M);
      setNumber(forms, change.field, index, -change.magnitude);
      return both(new RegExp(`every element of ${change.field} must be a finite non-negative`));
    }
    case "countBeyond":
      setNumber(forms, "count", 0, change.count);
      return both(/count must be at most 2\^53 − 1/);
    case "weightSquares": {
      const count = accumulator.count;
      const value = {
        aboveCount: count * (1 + 1e-6) + 1,
        zero: 0,
        negative: -1,
        belowEffective: count * count / Number.MAX_SAFE_INTEGER / 4,
      }[change.how];
      if (count === 0 && (change.how === "zero" || change.how === "belowEffective")) {
        return undefined;
      }
      setNumber(forms, "weightSquares", 0, value);
      return both(/weightSquares/);
    }
    case "lowPart": {
      if (!known) return undefined;
      const hiField = change.field === "meanXLo" ? "meanX" : "meanN";
      const index = change.at % (change.field === "meanXLo" ? F : M);
      const hi = vectors()[hiField][index]!;
      const lo = Math.max(change.factor * (Math.abs(hi) * LOW_PART_BOUND), 5e-324);
      setNumber(forms, change.field, index, change.negative ? -lo : lo);
      return both(new RegExp(`every element of ${change.field} must be at most 2\\^-40 times`));
    }
    case "nonFinite": {
      const vector = change.field !== "count" && change.field !== "weightSquares";
      if (vector && !known) return undefined;
      const length = vector ? vectors()[change.field as Vector].length : 1;
      const index = change.at % length;
      setNumber(forms, change.field, index, change.value);
      if (Number.isNaN(change.value)) {
        // Another NaN payload in the bytes (a quiet, a signalling or a negative NaN).
        const view = new DataView(forms.bytes.buffer);
        const at = offsetOf(forms.bytes, change.field, index);
        view.setUint32(at, 1, true);
        view.setUint32(at + 4, change.nanBits, true);
        assert.ok(Number.isNaN(view.getFloat64(at, true)));
      }
      // JSON text has no NaN (only 1e999 for Infinity): that form is left out.
      return {
        ...REFUSED,
        reason: /finite/,
        object: forms.object,
        bytes: forms.bytes,
        ...(Number.isNaN(change.value) ? {} : { text: textOf(forms.object) }),
      };
    }
    case "length": {
      if (!known) return undefined;
      const array = vectors()[change.field];
      if (change.delta < 0) array.pop();
      else for (let i = 0; i < change.delta; i++) array.push(0);
      const bytes = change.delta < 0
        ? forms.bytes.slice(0, forms.bytes.length - 8)
        : new Uint8Array([...forms.bytes, ...new Uint8Array(8 * change.delta)]);
      return {
        ...REFUSED,
        reason: /must have length|must be exactly \d+ bytes long/,
        object: forms.object,
        text: textOf(forms.object),
        bytes,
      };
    }
    case "header": {
      const view = new DataView(forms.bytes.buffer);
      const value = change.value;
      if (change.field === "format") {
        if (value === "batch-corr/accumulator") return undefined;
        forms.object.format = value;
        forms.bytes[0] = 0x41;
        return both(/format must be|magic bytes/);
      }
      if (change.field === "version") {
        if (value === 1 || value === 2) return undefined;
        forms.object.version = value;
        const version = typeof value === "number" && value >= 0 ? value >>> 0 : 7;
        view.setUint32(4, version, true);
        // Version 1 bytes differ in length only where the shape is known (no low parts).
        const bytesRefused = version !== 2 && (version !== 1 || known);
        return {
          ...REFUSED,
          reason: /version must be 1 or 2|bytes long/,
          object: forms.object,
          text: textOf(forms.object),
          ...(bytesRefused ? { bytes: forms.bytes } : {}),
        };
      }
      if (change.field === "featureShape") {
        // No samples yet: null or any shape (the confounds still unknown) is a valid state.
        if ((value === null || (Array.isArray(value) && value.length === 0)) && !known) {
          return undefined;
        }
        forms.object.featureShape = value;
        if (Array.isArray(value) && value.length === 0 && known && F === 1) {
          // The shape of X (B): one feature, as [1] holds.
          return { refused: false, object: forms.object, check: { reshaped: [] } };
        }
        return {
          ...REFUSED,
          reason: /featureShape must be null or an array of positive integers|must have length/,
          object: forms.object,
          text: textOf(forms.object),
        };
      }
      const validConfounds = typeof value === "number" && Number.isInteger(value) && value >= 1 &&
        value < 0xffffffff;
      if ((value === null && !known) || (validConfounds && (!known || value === M))) {
        return undefined;
      }
      forms.object.confounds = value;
      return {
        ...REFUSED,
        reason: /confounds must be null or a positive integer|must have length/,
        object: forms.object,
        text: textOf(forms.object),
      };
    }
    case "keys":
      return keysChange(forms, change, known);
    case "arrayElement":
      return arrayElementChange(forms, change, known);
    case "truncate": {
      const text = textOf(forms.object);
      return {
        ...REFUSED,
        reason: /valid JSON|magic bytes|bytes long/,
        text: text.slice(0, change.cut % text.length),
        bytes: forms.bytes.slice(0, change.cut % forms.bytes.length),
      };
    }
    case "expected": {
      if (change.how === "maxElements") {
        if (!known || F * M < 2) return undefined;
        return {
          refused: true,
          code: "resource_limit",
          reason: /F·M .* must be at most/,
          object: forms.object,
          bytes: forms.bytes,
          expected: { maxElements: F * M - 1 },
        };
      }
      const shape = accumulator.featureShape ?? [2];
      const expected: CorrelationAccumulatorOptions = change.how === "featureShape"
        ? { featureShape: shape.map((e, i) => i === 0 ? e + 1 : e) }
        : change.how === "rank"
        ? { featureShape: [...shape, 1] }
        : { confounds: (accumulator.confounds || 1) + 1 };
      return {
        ...REFUSED,
        reason: /its featureShape must be|its number of confounds must be/,
        object: forms.object,
        bytes: forms.bytes,
        expected,
      };
    }
    case "accepted":
      return acceptedChange(state, forms, change, known);
  }
}

function keysChange(
  forms: Forms,
  change: Extract<Change, { kind: "keys" }>,
  known: boolean,
): Outcome {
  const object = forms.object;
  const define = (target: object, key: PropertyKey, value: unknown): void => {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true });
  };
  switch (change.how) {
    case "extra":
      if (change.name === "__proto__") return undefined;
      define(object, change.name, 1);
      return {
        ...REFUSED,
        reason: /extra key|must not have a key named/,
        object,
        text: textOf(object),
      };
    case "missing": {
      if (change.key === "meanXLo" && !known) return undefined;
      delete object[change.key];
      return { ...REFUSED, reason: /must have the key/, object, text: textOf(object) };
    }
    case "prototypeKey": {
      const name = ["__proto__", "constructor", "prototype"][change.name.length % 3]!;
      define(object, name, { polluted: true });
      const text = textOf(object);
      return {
        ...REFUSED,
        reason: /must not have a key named __proto__, constructor or prototype/,
        object,
        text: text.includes(`"${name}"`) ? text : text.replace("{", `{"${name}":{},`),
      };
    }
    case "symbolKey":
      define(object, Symbol(change.name), 1);
      return { ...REFUSED, reason: /only have string keys/, object };
    case "customPrototype":
      return {
        ...REFUSED,
        reason: /must be a plain object/,
        object: Object.setPrototypeOf({ ...object }, { [change.key]: object[change.key] }),
      };
    case "v1WithLowParts":
      object.version = 1;
      return { ...REFUSED, reason: /extra key "meanXLo"/, object, text: textOf(object) };
    case "inheritedFromObjectPrototype": {
      // The key is missing from the snapshot and only Object.prototype holds it (a polluted process).
      if (change.key === "meanXLo" && !known) return undefined;
      const value = object[change.key];
      delete object[change.key];
      return {
        ...REFUSED,
        reason: /must have the key/,
        object,
        text: textOf(object),
        pollution: [[Object.prototype, change.key, value]],
      };
    }
  }
}

function arrayElementChange(
  forms: Forms,
  change: Extract<Change, { kind: "arrayElement" }>,
  known: boolean,
): Outcome {
  if (!known) return undefined;
  const snapshot = forms.object;
  const length = (snapshot[change.field] as number[]).length;
  const index = change.at % length;
  const good = (snapshot[change.field] as number[])[index]!;
  /** The snapshot with one element of the field replaced by an accessor. */
  const withElement = (descriptor: PropertyDescriptor) => (): unknown => {
    const array = [...(snapshot[change.field] as number[])];
    Object.defineProperty(array, index, { ...descriptor, enumerable: true, configurable: true });
    return { ...snapshot, [change.field]: array };
  };
  const elementRule = new RegExp(`every element of ${change.field} must be a finite`);
  switch (change.how) {
    case "holeInherited": {
      // A hole, with Array.prototype holding a value there: missing, never the inherited value.
      const array = [...(snapshot[change.field] as number[])];
      delete array[index];
      return {
        ...REFUSED,
        reason: elementRule,
        object: { ...snapshot, [change.field]: array },
        pollution: [[Array.prototype, String(index), good]],
      };
    }
    case "getterThenBad": {
      // Read once: the value validated is the value kept.
      let reads = 0;
      return {
        refused: false,
        makeObject: () => {
          reads = 0;
          return withElement({ get: () => reads++ === 0 ? good : -Infinity })();
        },
        check: "same",
      };
    }
    case "badThenGetter": {
      let reads = 0;
      return {
        ...REFUSED,
        reason: elementRule,
        makeObject: () => {
          reads = 0;
          return withElement({ get: () => reads++ === 0 ? -Infinity : good })();
        },
      };
    }
    case "throwingGetter":
      return {
        ...REFUSED,
        reason: /could not be read/,
        makeObject: withElement({
          get: () => {
            throw new Error("a getter that throws");
          },
        }),
      };
  }
}

function acceptedChange(
  state: ValidState,
  forms: Forms,
  change: Extract<Change, { kind: "accepted" }>,
  known: boolean,
): Outcome {
  const object = forms.object;
  switch (change.how) {
    case "reorderKeys": {
      const keys = Object.keys(object);
      const rotated = [
        ...keys.slice(change.at % keys.length),
        ...keys.slice(0, change.at % keys.length),
      ];
      const reordered = Object.fromEntries(rotated.reverse().map((k) => [k, object[k]]));
      return { refused: false, object: reordered, text: JSON.stringify(reordered), check: "same" };
    }
    case "pretty":
      return {
        refused: false,
        text: `\n ${JSON.stringify(object, null, change.at % 5)}\t\n`,
        check: "same",
      };
    case "version1": {
      // A version 1 snapshot is the same state when every low part is 0.
      const lows = [...(object.meanXLo as number[]), ...(object.meanNLo as number[])];
      if (lows.some((v) => v !== 0)) return undefined;
      const { meanXLo: _x, meanNLo: _n, ...rest } = object;
      const v1 = { ...rest, version: 1 };
      return { refused: false, object: v1, text: JSON.stringify(v1), check: "same" };
    }
    case "negativeZero": {
      if (!known) return undefined;
      const lows = object.meanXLo as number[];
      const index = change.at % lows.length;
      if (lows[index] !== 0) return undefined;
      setNumber(forms, "meanXLo", index, -0);
      return { refused: false, object, bytes: forms.bytes, check: "same" };
    }
    case "reshape": {
      // The same F features under another shape of rank 1 or 2: the same numbers, another shape.
      if (!known) return undefined;
      const divisors = Array.from({ length: state.F }, (_, i) => i + 1).filter((d) =>
        state.F % d === 0
      );
      const first = pick(divisors, change.at);
      const shape = first === state.F ? [state.F] : [first, state.F / first];
      object.featureShape = shape;
      return { refused: false, object, text: JSON.stringify(object), check: { reshaped: shape } };
    }
    case "offset": {
      // Bytes inside a larger buffer, at an odd offset.
      const shift = 1 + (change.at % 7);
      const buffer = new Uint8Array(forms.bytes.length + shift + 3).fill(0xee);
      buffer.set(forms.bytes, shift);
      return {
        refused: false,
        bytes: buffer.subarray(shift, shift + forms.bytes.length),
        check: "same",
      };
    }
  }
}

/** Runs `decode` with the pollution in place, removed again whatever happens. */
function polluted<T>(pollution: [object, PropertyKey, unknown][] | undefined, decode: () => T): T {
  const set: [object, PropertyKey][] = [];
  try {
    for (const [target, key, value] of pollution ?? []) {
      Object.defineProperty(target, key, { value, configurable: true, writable: true });
      set.push([target, key]);
    }
    return decode();
  } finally {
    for (const [target, key] of set) delete (target as Record<PropertyKey, unknown>)[key];
  }
}

type SafeResult = ReturnType<typeof CorrelationAccumulator.safeFromJSON>;
type Decoders = [string, () => CorrelationAccumulator, () => SafeResult][];

function decodersOf(outcome: NonNullable<Outcome>): Decoders {
  const expected = outcome.refused ? outcome.expected : undefined;
  const decoders: Decoders = [];
  if (outcome.object !== undefined || outcome.makeObject) {
    const object = outcome.object;
    const make = outcome.makeObject ?? (() => object);
    decoders.push([
      "fromJSON(object)",
      () => CorrelationAccumulator.fromJSON(make(), expected),
      () => CorrelationAccumulator.safeFromJSON(make(), expected),
    ]);
  }
  if (outcome.text !== undefined) {
    const text = outcome.text;
    decoders.push([
      "fromJSON(text)",
      () => CorrelationAccumulator.fromJSON(text, expected),
      () => CorrelationAccumulator.safeFromJSON(text, expected),
    ]);
  }
  if (outcome.bytes !== undefined) {
    const bytes = outcome.bytes;
    decoders.push([
      "fromBytes",
      () => CorrelationAccumulator.fromBytes(bytes, expected),
      () => CorrelationAccumulator.safeFromBytes(bytes, expected),
    ]);
  }
  return decoders;
}

function assertRefused(outcome: Extract<NonNullable<Outcome>, { refused: true }>): void {
  for (const [form, restore, safeRestore] of decodersOf(outcome)) {
    let thrown: unknown;
    try {
      polluted(outcome.pollution, restore);
    } catch (error) {
      thrown = error;
    }
    assert.ok(thrown !== undefined, `${form}: the corrupted snapshot was accepted`);
    assert.ok(thrown instanceof BatchCorrError, `${form}: not a BatchCorrError: ${thrown}`);
    assert.equal(thrown.code, outcome.code, `${form}: ${thrown.message}`);
    assert.match(thrown.message, /^Cannot restore the CorrelationAccumulator snapshot as /);
    if (form !== "fromJSON(text)" || !/valid JSON/.test(thrown.message)) {
      assert.match(thrown.message, outcome.reason, `${form}: refused for another reason`);
    }
    let result: SafeResult | undefined;
    assert.doesNotThrow(() => {
      result = polluted(outcome.pollution, safeRestore);
    }, `${form}: the safe twin threw`);
    assert.ok(result && !result.success, `${form}: the safe twin accepted it`);
    assert.ok(result.error instanceof BatchCorrError);
    assert.equal(result.error.code, thrown.code);
    assert.equal(result.error.message, thrown.message);
    assert.deepEqual(result.error.details, thrown.details);
    assertNoPollution();
  }
}

function correlationsOf(accumulator: CorrelationAccumulator) {
  return accumulator.correlations({ abs: false });
}

/**
 * |r| ≤ 1 up to the bound's documented rounding slack (1e-9 relative): a state
 * computed from data may give 1 + 2^-52 by rounding, as batchCorr does.
 */
function assertWithinOne(accumulator: CorrelationAccumulator, what: string): void {
  if (accumulator.count === 0) return;
  for (const r of correlationsOf(accumulator).data) {
    assert.ok(Number.isFinite(r) && Math.abs(r) <= 1 + 1e-9, `${what}: r = ${r}`);
  }
}

/** The state after an update with the extra batch (JSON: exact decimals), or the error it raised. */
function updated(accumulator: CorrelationAccumulator, batch: DenseBatch): string {
  try {
    return JSON.stringify(accumulator.update(batch.x, batch.n));
  } catch (error) {
    return String(error);
  }
}

function assertAccepted(
  state: ValidState,
  outcome: Extract<NonNullable<Outcome>, { refused: false }>,
): void {
  const original = state.accumulator;
  for (const [form, restore, safeRestore] of decodersOf(outcome)) {
    const restored = restore();
    const safe = safeRestore();
    assert.ok(safe.success, `${form}: the safe twin refused what the other accepted`);
    assert.deepEqual(safe.data.toBytes(), restored.toBytes(), form);
    assert.equal(restored.count, original.count, `${form}: count`);
    assertWithinOne(restored, form);
    const check = outcome.check;
    const whole = original.count > 0 ? concat(state.kept) : undefined;
    if (check === "same") {
      // JSON holds the exact numbers (shortest round-trip decimals); only -0 reads as 0.
      assert.equal(JSON.stringify(restored), JSON.stringify(original), `${form}: another state`);
      if (whole) {
        const r = correlationsOf(restored).data;
        assertSameArray(r, correlationsOf(original).data, `${form}: r`);
        // The independent reference: batchCorr of every sample kept, at once.
        const reference = batchCorr(whole.x, whole.n, { abs: false });
        assertClose(r, reference.data, 1e-9, `${form}: r vs batchCorr`);
      }
      const after = updated(restored, state.extra);
      assert.equal(after, updated(original.clone(), state.extra), `${form}: after an update`);
    } else if (check === "bounded") {
      const next = restored.clone();
      if (!updated(next, state.extra).startsWith("RangeError")) assertWithinOne(next, form);
    } else if ("reshaped" in check) {
      assert.deepEqual(restored.featureShape, check.reshaped);
      if (whole) {
        const x = { data: whole.x.data, shape: [whole.x.shape[0]!, ...check.reshaped] };
        const reference = batchCorr(x, whole.n, { abs: false });
        assertClose(correlationsOf(restored).data, reference.data, 1e-9, `${form}: reshaped r`);
      }
    } else {
      // A zero sum of squares beside co-moments within the floor: that column has zero
      // variance, its co-moments are 0, every other number is the original's.
      const before = original.moments(), after = restored.moments();
      const { M } = state;
      after.comoment.forEach((c, i) => {
        const inColumn = check.zeroed === "x"
          ? Math.floor(i / M) === check.index
          : i % M === check.index;
        assert.ok(
          inColumn ? c === 0 : Object.is(c, before.comoment[i]),
          `${form}: comoment[${i}] = ${c}`,
        );
      });
      assert.equal(after[check.zeroed === "x" ? "m2X" : "m2N"][check.index], 0);
      const next = restored.clone();
      if (!updated(next, state.extra).startsWith("RangeError")) assertWithinOne(next, form);
    }
  }
}

/** The corruptions that change numbers only: any two or three of them together are refused. */
const NUMBER_CHANGES = new Set([
  "beyondBound",
  "zeroSumOfSquares",
  "negative",
  "countBeyond",
  "weightSquares",
  "lowPart",
  "nonFinite",
]);

/** The corruptions that apply to moments given to updateMoments as well. */
const MOMENT_CHANGES = new Set([
  "beyondBound",
  "atBound",
  "zeroSumOfSquares",
  "withinFloor",
  "negative",
  "countBeyond",
  "nonFinite",
]);

describe("property: snapshot bounds", () => {
  test("every targeted corruption of a valid JSON or binary snapshot is refused for its own reason, the safe twins returning the same error", () => {
    let refused = 0, accepted = 0;
    fc.assert(
      fc.property(stateArbitrary, changeArbitrary, (state, change) => {
        const outcome = apply(state, change);
        if (outcome === undefined) return;
        if (outcome.refused) {
          assertRefused(outcome);
          refused++;
        } else {
          assertAccepted(state, outcome);
          accepted++;
        }
      }),
      { numRuns: RUNS * 2, seed: SEED },
    );
    assert.ok(refused > accepted && accepted > 0, `${refused} refused, ${accepted} accepted`);
  });

  test("two or three corruptions of the numbers at once are refused in every form", () => {
    const numberChange = changeArbitrary.filter((change) => NUMBER_CHANGES.has(change.kind));
    fc.assert(
      fc.property(
        stateArbitrary,
        fc.array(numberChange, { minLength: 2, maxLength: 3 }),
        (state, changes) => {
          const forms = formsOf(state.accumulator);
          let applied = 0;
          for (const change of changes) if (apply(state, change, forms)) applied++;
          if (applied === 0) return;
          assertRefused({
            ...REFUSED,
            reason: /./,
            object: forms.object,
            text: textOf(forms.object),
            bytes: forms.bytes,
          });
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("the same corruptions of moments given to updateMoments are refused with a RangeError, the state untouched; those within the bounds keep |r| ≤ 1", () => {
    const momentChange = changeArbitrary.filter((change) =>
      MOMENT_CHANGES.has(change.kind) &&
      !("field" in change && ["weightSquares", "meanXLo", "meanNLo"].includes(change.field))
    );
    fc.assert(
      fc.property(stateArbitrary, momentChange, fc.boolean(), (state, change, intoClone) => {
        if (state.accumulator.count === 0) return;
        const forms = formsOf(state.accumulator);
        const outcome = apply(state, change, forms);
        if (outcome === undefined) return;
        const o = forms.object as unknown as Record<Vector, number[]> & { count: number };
        const moments = {
          count: o.count,
          features: state.F,
          confounds: state.M,
          meanX: Float64Array.from(o.meanX),
          meanN: Float64Array.from(o.meanN),
          m2X: Float64Array.from(o.m2X),
          m2N: Float64Array.from(o.m2N),
          comoment: Float64Array.from(o.comoment),
        };
        const target = intoClone ? state.accumulator.clone() : new CorrelationAccumulator();
        const before = target.toBytes();
        const featureShape = state.accumulator.featureShape;
        if (outcome.refused) {
          assert.throws(
            () => target.updateMoments(moments, featureShape),
            (e) =>
              e instanceof RangeError &&
              /^Cannot update CorrelationAccumulator from moments as /.test(e.message),
          );
          assert.deepEqual(target.toBytes(), before, "a refused update changed the state");
        } else {
          try {
            target.updateMoments(moments, featureShape);
          } catch (error) {
            // Only a merge beyond float64's range may refuse moments within the bounds.
            assert.ok(error instanceof RangeError && /float64/.test(error.message), String(error));
            return;
          }
          assertWithinOne(target, "after updateMoments");
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
