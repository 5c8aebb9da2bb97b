/**
 * Property tests of user scalarisations' results: random user functions and
 * Scalarisation objects (plain, with a gradient, class instances) that return
 * valid results for a while and then hostile values (strings, undefined,
 * objects, BigInt, NaN, ±Infinity, arrays, boxed numbers, functions, Proxies,
 * objects whose getters throw), mutate or sort their input, keep it and write
 * into it later, or throw. For BatchCorrelationLoss and QCFCLoss (evaluate,
 * valueAndGrad) and the streams (correlateBatches, BatchCorrStream): a finite
 * number is used as is; NaN only under zeroVariance "nan"; another number is
 * a RangeError and anything else a TypeError, each naming the scalarisation
 * and the value; the user's own throw is passed on. Whatever the function
 * does to its input, the results equal those of a twin that does the same
 * arithmetic without touching its input, the emitted correlations equal a
 * stream's with a built-in scalarisation, and nothing emitted or kept is
 * modified afterwards.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  batchCorr,
  BatchCorrelationLoss,
  BatchCorrError,
  BatchCorrStream,
  type BatchResult,
  correlateBatches,
  CorrelationAccumulator,
  QCFCLoss,
  type Scalarisation,
} from "../../mod.ts";
import { assertSameArray, type DenseBatch, RUNS, SEED } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";

/** What a hostile result must lead to. */
type Verdict = "used" | "nanPolicy" | "range" | "type" | "thrown";

interface Hostile {
  label: string;
  make: () => unknown;
  verdict: Verdict;
  /** How the library's message shows it. */
  shown?: string;
}

const revoked = () => {
  const proxy = Proxy.revocable({}, {});
  proxy.revoke();
  return proxy.proxy;
};
class UserFailure extends Error {}

/** The results a user scalarisation may return once it turns hostile. */
const HOSTILE: Hostile[] = [
  { label: "0", make: () => 0, verdict: "used" },
  { label: "-0", make: () => -0, verdict: "used" },
  { label: "5e-324", make: () => 5e-324, verdict: "used" },
  { label: "-1.5", make: () => -1.5, verdict: "used" },
  { label: "1e308", make: () => 1e308, verdict: "used" },
  { label: "NaN", make: () => Number.NaN, verdict: "nanPolicy", shown: "NaN" },
  { label: "Infinity", make: () => Infinity, verdict: "range", shown: "Infinity" },
  { label: "-Infinity", make: () => -Infinity, verdict: "range", shown: "-Infinity" },
  { label: '"0.5"', make: () => "0.5", verdict: "type", shown: '"0.5"' },
  { label: '""', make: () => "", verdict: "type", shown: '""' },
  { label: "undefined", make: () => undefined, verdict: "type", shown: "undefined" },
  { label: "null", make: () => null, verdict: "type", shown: "null" },
  { label: "true", make: () => true, verdict: "type", shown: "true" },
  { label: "10n", make: () => 10n, verdict: "type", shown: "10n" },
  { label: "0n", make: () => 0n, verdict: "type", shown: "0n" },
  { label: "{}", make: () => ({}), verdict: "type", shown: "an object" },
  {
    label: "{ valueOf }",
    make: () => ({ valueOf: () => 0.5 }),
    verdict: "type",
    shown: "an object",
  },
  { label: "[]", make: () => [], verdict: "type", shown: "an array of length 0" },
  { label: "[0.5]", make: () => [0.5], verdict: "type", shown: "an array of length 1" },
  { label: "new Number(0.5)", make: () => new Number(0.5), verdict: "type", shown: "a Number" },
  { label: "new Date(0)", make: () => new Date(0), verdict: "type", shown: "a Date" },
  { label: "Symbol", make: () => Symbol("r"), verdict: "type", shown: "Symbol(r)" },
  { label: "a function", make: () => () => 0.5, verdict: "type", shown: "a function" },
  {
    label: "Object.create(null)",
    make: () => Object.create(null),
    verdict: "type",
    shown: "an object",
  },
  {
    label: "a throwing constructor getter",
    make: () => ({
      get constructor(): never {
        throw new UserFailure("constructor read");
      },
    }),
    verdict: "type",
    shown: "an object",
  },
  {
    label: "a Proxy whose traps throw",
    make: () =>
      new Proxy({}, {
        get() {
          throw new UserFailure("trap");
        },
      }),
    verdict: "type",
    shown: "an object",
  },
  { label: "a revoked Proxy", make: revoked, verdict: "type", shown: "an object" },
  {
    label: "a constructor with a non-string name",
    make: () => ({ constructor: { name: Object.create(null) } }),
    verdict: "type",
    shown: "an object",
  },
  { label: "throws an Error", make: () => new UserFailure("user failure"), verdict: "thrown" },
  { label: "throws a string", make: () => "boom", verdict: "thrown" },
  { label: "throws a null-prototype object", make: () => Object.create(null), verdict: "thrown" },
];

/** The arithmetic of the valid results, on a copy of the input. */
const VALID = {
  mean: (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length,
  median: (v: Float64Array) => Float64Array.from(v).sort()[v.length >> 1]!,
  first: (v: Float64Array) => v[0]!,
  weighted: (v: Float64Array) => v.reduce((s, x, i) => s + (i + 1) * x, 0) / v.length,
  length: (v: Float64Array) => v.length,
} as const;
type ValidKind = keyof typeof VALID;

/** What the function does to its input before it returns. */
type Mutation = "none" | "sort" | "reverse" | "fillNaN" | "writeFirst" | "keepAndWriteLater";

interface Plan {
  form: "function" | "object" | "objectWithGradient" | "classInstance";
  name: "named" | "anonymous" | "nonString";
  mutation: Mutation;
  valid: ValidKind;
  /** Calls that return the valid result before the hostile one. */
  validCalls: number;
  hostile: number;
  gradient: "finite" | "sorts" | "nan" | "throws";
}

const planArbitrary: fc.Arbitrary<Plan> = fc.record({
  form: fc.constantFrom("function", "object", "objectWithGradient", "classInstance"),
  name: fc.constantFrom("named", "anonymous", "nonString"),
  mutation: fc.constantFrom(
    "none",
    "sort",
    "reverse",
    "fillNaN",
    "writeFirst",
    "keepAndWriteLater",
  ),
  valid: fc.constantFrom<ValidKind>("mean", "median", "first", "weighted", "length"),
  validCalls: fc.oneof(
    { arbitrary: fc.constant(0), weight: 2 },
    { arbitrary: fc.integer({ min: 1, max: 12 }), weight: 1 },
    { arbitrary: fc.constant(1000), weight: 1 },
  ),
  hostile: fc.nat({ max: HOSTILE.length - 1 }),
  gradient: fc.constantFrom("finite", "finite", "sorts", "nan", "throws"),
});

/** A user scalarisation of the plan, or its twin: the same answers, its input untouched. */
function userScalarisation(plan: Plan, twin: boolean): {
  scalarisation: ((values: Float64Array) => number) | Scalarisation;
  name: string;
  seen: Float64Array[];
} {
  let calls = 0;
  let kept: Float64Array | undefined;
  const seen: Float64Array[] = [];
  const hostile = HOSTILE[plan.hostile]!;
  const touch = (values: Float64Array): void => {
    if (twin) return;
    if (kept) {
      // A reference kept from an earlier call, written into now.
      kept.fill(Number.NaN);
      kept.sort();
    }
    switch (plan.mutation) {
      case "sort":
        values.sort();
        break;
      case "reverse":
        values.reverse();
        break;
      case "fillNaN":
        values.fill(Number.NaN);
        break;
      case "writeFirst":
        values[0] = 99;
        break;
      case "keepAndWriteLater":
        kept = values;
        break;
    }
  };
  function reduce(values: Float64Array): number {
    const copy = Float64Array.from(values);
    seen.push(copy);
    const call = calls++;
    touch(values);
    if (call < plan.validCalls) return VALID[plan.valid](copy);
    if (hostile.verdict === "thrown") throw hostile.make();
    return hostile.make() as number;
  }
  const gradient = (values: Float64Array, out: Float64Array): void => {
    const copy = Float64Array.from(values);
    touch(values);
    if (plan.gradient === "throws") throw new UserFailure("gradient failure");
    for (let i = 0; i < out.length; i++) {
      out[i] = (i % 3 - 1) * 0.25 + (Number.isNaN(copy[i]) ? 0 : copy[i]! / 8);
    }
    if (plan.gradient === "nan") out[out.length >> 1] = Number.NaN;
    if (plan.gradient === "sorts" && !twin) values.sort();
  };
  const givenName = plan.name === "named"
    ? "userScalarisation"
    : plan.name === "anonymous"
    ? ""
    : 5;
  const name = typeof givenName === "string" && givenName !== "" ? givenName : "custom";
  if (plan.form === "function") {
    const fn = (values: Float64Array) => reduce(values);
    Object.defineProperty(fn, "name", { value: givenName });
    return { scalarisation: fn, name, seen };
  }
  if (plan.form === "classInstance") {
    // reduce and gradient come from the class (its prototype), name is its own.
    class UserScalarisation {
      readonly name = givenName as string;
      reduce(values: Float64Array): number {
        return reduce(values);
      }
      gradient(values: Float64Array, out: Float64Array): void {
        gradient(values, out);
      }
    }
    return { scalarisation: new UserScalarisation(), name, seen };
  }
  const object: Scalarisation = {
    name: givenName as string,
    reduce,
    ...(plan.form === "objectWithGradient" ? { gradient } : {}),
  };
  return { scalarisation: object, name, seen };
}

const hasGradient = (plan: Plan) =>
  plan.form === "objectWithGradient" || plan.form === "classInstance";

type Outcome = { value: unknown } | { error: unknown };

function outcomeOf(call: () => unknown): Outcome {
  try {
    return { value: call() };
  } catch (error) {
    return { error };
  }
}

/** The error a hostile result must give, checked against the plan. */
function assertHostileError(error: unknown, plan: Plan, name: string, zeroVariance: string): void {
  const hostile = HOSTILE[plan.hostile]!;
  if (hostile.verdict === "thrown") {
    // The user's own throw is passed on as it is.
    if (hostile.label === "throws a string") assert.equal(error, "boom");
    else if (hostile.label === "throws an Error") assert.ok(error instanceof UserFailure);
    else assert.ok(typeof error === "object" && Object.getPrototypeOf(error) === null);
    return;
  }
  const expected = hostile.verdict === "type" ? TypeError : RangeError;
  assert.ok(error instanceof expected, `${hostile.label}: ${error}`);
  const rule = zeroVariance === "nan"
    ? 'a finite number, or NaN (zeroVariance is "nan")'
    : 'a finite number (NaN only with zeroVariance: "nan")';
  assert.equal(
    (error as Error).message,
    `Cannot apply the scalarisation ${
      JSON.stringify(name)
    } as its result must be ${rule}: current value is ${hostile.shown}`,
  );
}

/** Whether the hostile result is acceptable under the policy. */
function accepted(plan: Plan, zeroVariance: string): boolean {
  const verdict = HOSTILE[plan.hostile]!.verdict;
  return verdict === "used" || (verdict === "nanPolicy" && zeroVariance === "nan");
}

/** Bit-for-bit equality of two outcomes (results or errors). */
function assertSame(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === "number") {
    assert.ok(Object.is(actual, expected), `${path}: ${actual} !== ${expected}`);
  } else if (expected instanceof Error) {
    assert.ok(actual instanceof Error && actual.constructor === expected.constructor, path);
    assert.equal(actual.message, expected.message, path);
  } else if (ArrayBuffer.isView(expected)) {
    assertSameArray(actual as Float64Array, expected as unknown as Float64Array, path);
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual) && actual.length === expected.length, `${path}: length`);
    expected.forEach((e, i) => assertSame(actual[i], e, `${path}[${i}]`));
  } else if (typeof expected === "object" && expected !== null) {
    const keys = Object.keys(expected).sort();
    assert.deepEqual(Object.keys(actual as object).sort(), keys, `${path}: keys`);
    for (const key of keys) {
      assertSame(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
    }
  } else {
    assert.equal(actual, expected, path);
  }
}

/** A deep copy of what a stream emitted, to compare with later. */
function copyResult(result: BatchResult): unknown {
  const copy = (value: unknown): unknown => {
    if (ArrayBuffer.isView(value)) return Float64Array.from(value as unknown as Float64Array);
    if (Array.isArray(value)) return value.map(copy);
    if (value instanceof Error || typeof value !== "object" || value === null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copy(v)]));
  };
  return copy(result);
}

const lossSettings = fc.record({
  nu: fc.constantFrom(1, -2.5, 0.5),
  tol: fc.constantFrom<number | "auto">(0, 0.1, "auto"),
  abs: fc.boolean(),
  zeroVariance: fc.constantFrom<"zero" | "nan">("zero", "zero", "nan"),
});

/** A batch with a constant column (so zeroVariance "nan" gives NaN correlations). */
function batchOf(seed: number, B: number, F: number, M: number): DenseBatch {
  const random = mulberry32(seed);
  const n = Float64Array.from({ length: M * B }, () => random() * 2 - 1);
  const x = Float64Array.from(
    { length: B * F },
    (_, i) => i % F === F - 1 ? 3 : random() + 0.5 * n[((i % F) % M) * B + Math.floor(i / F)]!,
  );
  return { x: { data: x, shape: [B, F] }, n: { data: n, shape: [M, B] } };
}

const batchArbitrary = fc.record({
  seed: fc.integer(),
  B: fc.integer({ min: 3, max: 9 }),
  F: fc.integer({ min: 1, max: 4 }),
  M: fc.integer({ min: 1, max: 2 }),
});

describe("property: user scalarisation results", () => {
  test("BatchCorrelationLoss and QCFCLoss evaluate: a finite result is used as is, NaN only under zeroVariance nan, any other a RangeError or TypeError naming the scalarisation and the value; the input is batchCorr's correlations", () => {
    fc.assert(
      fc.property(
        planArbitrary,
        lossSettings,
        batchArbitrary,
        fc.boolean(),
        (plan, settings, shape, qcfc) => {
          const { x, n } = batchOf(shape.seed, shape.B, shape.F, shape.M);
          const user = userScalarisation(plan, false);
          const Loss = qcfc ? QCFCLoss : BatchCorrelationLoss;
          const loss = new Loss({ ...settings, scalarisation: user.scalarisation });
          const twin = new Loss({
            ...settings,
            scalarisation: userScalarisation(plan, true).scalarisation,
          });
          const { nu: _nu, ...correlationOptions } = settings;
          const r = batchCorr(x, n, correlationOptions).data;
          // The same loss evaluated again and again: valid results, then the hostile one.
          const calls = Math.min(plan.validCalls, 2) + 1;
          for (let call = 0; call < calls; call++) {
            const outcome = outcomeOf(() => loss.evaluate(x, n));
            assert.equal(user.seen.length, call + 1);
            assertSameArray(
              user.seen[call]!,
              r,
              `the values the scalarisation saw at call ${call}`,
            );
            const validResult = call < plan.validCalls;
            if (validResult || accepted(plan, settings.zeroVariance)) {
              assert.ok("value" in outcome, `${"error" in outcome && outcome.error}`);
              const result = validResult
                ? VALID[plan.valid](r)
                : HOSTILE[plan.hostile]!.make() as number;
              assert.ok(Object.is(outcome.value, settings.nu * result), `${outcome.value}`);
            } else {
              assert.ok("error" in outcome, `accepted ${HOSTILE[plan.hostile]!.label}`);
              assertHostileError(outcome.error, plan, user.name, settings.zeroVariance);
            }
            // A twin that leaves its input alone answers the same: nothing the loss keeps was touched.
            assertSame(outcomeOf(() => twin.evaluate(x, n)), outcome, `twin at call ${call}`);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("valueAndGrad: the value is evaluate's rule, the gradient that of a twin that leaves its input alone, a non-finite gradient a RangeError; a plain function has no gradient", () => {
    fc.assert(
      fc.property(
        planArbitrary,
        lossSettings,
        batchArbitrary,
        fc.constantFrom<"X" | "both">("X", "both"),
        (plan, settings, shape, wrt) => {
          const { x, n } = batchOf(shape.seed, shape.B, shape.F, shape.M);
          const user = userScalarisation(plan, false);
          const loss = new BatchCorrelationLoss({ ...settings, scalarisation: user.scalarisation });
          const outcome = outcomeOf(() => loss.valueAndGrad(x, n, { wrt }));
          if (!hasGradient(plan)) {
            assert.ok("error" in outcome && outcome.error instanceof TypeError);
            assert.match((outcome.error as Error).message, /which has no gradient/);
            return;
          }
          const twin = new BatchCorrelationLoss({
            ...settings,
            scalarisation: userScalarisation(plan, true).scalarisation,
          });
          assertSame(outcomeOf(() => twin.valueAndGrad(x, n, { wrt })), outcome, "vs twin");
          const valid = plan.validCalls > 0 || accepted(plan, settings.zeroVariance);
          if (!valid) {
            assert.ok("error" in outcome);
            assertHostileError(outcome.error, plan, user.name, settings.zeroVariance);
            return;
          }
          const value = "value" in outcome ? (outcome.value as { value: number }).value : undefined;
          if (value !== undefined && Number.isNaN(value)) return; // NaN: no gradient is computed
          if (plan.gradient === "throws") {
            assert.ok("error" in outcome && outcome.error instanceof UserFailure);
          } else if (plan.gradient === "nan") {
            assert.ok("error" in outcome && outcome.error instanceof RangeError);
            assert.match(
              (outcome.error as Error).message,
              new RegExp(
                `^Cannot apply the scalarisation ${
                  JSON.stringify(user.name)
                } as every element of its gradient must be a finite number: current value is NaN at index \\d+$`,
              ),
            );
          } else {
            assert.ok("value" in outcome, `${"error" in outcome && outcome.error}`);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test("correlateBatches and BatchCorrStream with a user scalarisation: its losses, or a stream_batch_failed naming it at the first hostile result; the emitted and kept correlations are a built-in's, never touched by the function, even later", async () => {
    await fc.assert(
      fc.asyncProperty(
        planArbitrary,
        lossSettings,
        fc.record({
          seed: fc.integer(),
          batches: fc.integer({ min: 1, max: 5 }),
          F: fc.integer({ min: 1, max: 3 }),
          M: fc.integer({ min: 1, max: 2 }),
          view: fc.constantFrom("none", "window", "decay"),
          output: fc.constantFrom<"full" | "losses">("full", "losses"),
          gradient: fc.boolean(),
          transform: fc.boolean(),
        }),
        async (plan, settings, s) => {
          const batches = Array.from(
            { length: s.batches },
            (_, i) => batchOf(s.seed + i, 3 + ((s.seed >>> 0) + i) % 6, s.F, s.M),
          );
          const gradient = s.gradient && hasGradient(plan);
          const options = {
            ...settings,
            output: s.output,
            ...(gradient ? { gradient: true } : {}),
            ...(s.view === "window" ? { window: 2 } : s.view === "decay" ? { decay: 0.5 } : {}),
          };
          const run = async (scalarisation: unknown) => {
            const accumulator = new CorrelationAccumulator();
            const results: BatchResult[] = [];
            const copies: unknown[] = [];
            let error: unknown;
            const all = { ...options, scalarisation, accumulator } as never;
            try {
              const source = s.transform
                ? ReadableStream.from(batches).pipeThrough(new BatchCorrStream(all))
                : correlateBatches(batches, all);
              for await (const result of source) {
                results.push(result);
                copies.push(copyResult(result));
              }
            } catch (caught) {
              error = caught;
            }
            return { results, copies, error, accumulator };
          };
          const user = userScalarisation(plan, false);
          const hostile = await run(user.scalarisation);
          const twin = await run(userScalarisation(plan, true).scalarisation);
          const builtIn = await run(gradient ? "meansq" : "mean");
          // Nothing emitted changed after it was emitted (a kept reference written into later).
          hostile.results.forEach((result, i) =>
            assertSame(copyResult(result), hostile.copies[i], `result ${i} after the stream`)
          );
          assertSame(hostile.results, twin.results, "vs twin");
          assertSame(hostile.error, twin.error, "error vs twin");
          assert.deepEqual(hostile.accumulator.toBytes(), twin.accumulator.toBytes());
          // The correlations do not depend on the scalarisation: a built-in's, bit for bit.
          hostile.results.forEach((result, i) => {
            const reference = builtIn.results[i]!;
            assertSame(result.correlations, reference.correlations, `correlations ${i}`);
            assertSame(result.running.correlations, reference.running.correlations, `running ${i}`);
            assertSame(result.window?.correlations, reference.window?.correlations, `window ${i}`);
            assertSame(result.count, reference.count, `count ${i}`);
          });
          // Whether the function returned its hostile value (refused under the policy) at some call.
          const hostileReturned = !accepted(plan, settings.zeroVariance) &&
            user.seen.length > plan.validCalls;
          if (hostile.error === undefined) {
            assert.ok(!hostileReturned, `${HOSTILE[plan.hostile]!.label} went through`);
            assert.equal(hostile.results.length, batches.length);
            assert.deepEqual(hostile.accumulator.toBytes(), builtIn.accumulator.toBytes());
            return;
          }
          const error = hostile.error;
          assert.ok(error instanceof BatchCorrError, `${error}`);
          assert.equal(error.code, "stream_batch_failed");
          assert.equal(error.details.index, hostile.results.length);
          assert.equal(error.details.phase, "loss");
          const cause = error.cause;
          const text = cause instanceof Error ? cause.message : undefined;
          if (text !== undefined) {
            assert.equal(
              error.message,
              text.startsWith("Cannot correlate batch")
                ? text
                : `Cannot correlate batch ${hostile.results.length} of the stream as the scalarisation failed: ${text}`,
            );
          }
          if (hostileReturned) {
            assertHostileError(cause, plan, user.name, settings.zeroVariance);
          } else {
            // Every result was valid: the user's gradient failed (it threw, or it was not finite).
            assert.ok(gradient && (plan.gradient === "nan" || plan.gradient === "throws"));
            if (plan.gradient === "throws") assert.ok(cause instanceof UserFailure);
            else assert.match(text ?? "", /every element of its gradient must be a finite number/);
          }
        },
      ),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
