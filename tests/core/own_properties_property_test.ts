/**
 * Property tests of inherited option keys at every public entry point: random
 * option keys and values (valid, and invalid so that reading them would show)
 * placed as plain own properties, as getters that change between reads, as
 * non-enumerable own properties, on a prototype chain (`Object.create`), and
 * on a polluted Object.prototype (always deleted again). Each call must give
 * bit for bit what the same call gives with a plain object of the options it
 * should read: the own enumerable ones, each getter's first value; a key
 * that is only inherited (or not enumerable, as for object spread) reads as
 * absent, so its default applies.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  autoTol,
  batchCorr,
  batchCorrAsync,
  BatchCorrelationLoss,
  batchCorrFloat32,
  BatchCorrStream,
  batchCorrStream,
  correlateBatches,
  CorrelationAccumulator,
  createOnnxBackend,
  exportBatchCorrOnnx,
  type OnnxBackend,
  qcfc,
  QCFCLoss,
  rowsToBatches,
  vnorm,
} from "../../mod.ts";
import { assertNoPollution, RUNS, SEED } from "../fuzz_support.ts";
import { mulberry32 } from "../random.ts";

const random = mulberry32(20261204);
const B = 7, F = 3, M = 2;
/** Features with a constant column (zero variance) and correlations of several sizes. */
const X = {
  data: Float64Array.from({ length: B * F }, (_, i) => i % F === 2 ? 4 : random() * 4 - 2),
  shape: [B, F],
};
const N = { data: Float64Array.from({ length: M * B }, () => random()), shape: [M, B] };
const FIXED = new CorrelationAccumulator().update(X, N);
const SNAPSHOT = FIXED.toJSON();
const BYTES = FIXED.toBytes();
const rowsOf = (count: number) =>
  Array.from({ length: count }, (_, i) => ({ a: random(), b: i % 3, c: random() }));
const ROWS = rowsOf(7);
/** Stream batches, one with NaN (so that onInvalid shows). */
const BATCHES = [0, 1, 2, 3].map((i) => {
  const x = Float64Array.from({ length: 5 * F }, () => random());
  if (i === 2) x[4] = Number.NaN;
  return {
    x: { data: x, shape: [5, F] },
    n: { data: Float64Array.from({ length: M * 5 }, random), shape: [M, 5] },
  };
});

/** Stands for a fresh accumulator (the streams fold into it), made anew for each call. */
const ACCUMULATOR = "<a fresh CorrelationAccumulator>";
const SQUARE_ROOT = vnorm(0.5);
const LENGTH = (values: Float64Array): number => values.length / 10;

function materialise(value: unknown): unknown {
  return value === ACCUMULATOR ? new CorrelationAccumulator().update(X, N) : value;
}

/** Option values: valid ones that change the result, and invalid ones that fail if read. */
const CORRELATION_KEYS = {
  tol: [0, 0.1, 0.3, "auto", -1, "0.1", Number.NaN],
  tolSig: [0.05, 0.5, 0, 2],
  abs: [true, false, "false", 0],
  zeroVariance: ["zero", "nan", "none"],
  maxElements: [1, 2 ** 20, 0, 1.5],
};
const LOSS_KEYS = {
  ...CORRELATION_KEYS,
  nu: [1, -2.5, "1", Infinity],
  name: ["L", 5],
  scalarisation: ["sum", "max", "meansq", SQUARE_ROOT, LENGTH, 5, "median"],
};
const STREAM_KEYS = {
  ...LOSS_KEYS,
  window: [2, 0],
  decay: [0.5, 2],
  onInvalid: ["error", "skip", "drop"],
  output: ["full", "losses", "none"],
  gradient: [true, "both", false, "N"],
  accumulator: [ACCUMULATOR, {}],
  threads: [1, "auto", 0],
};

/** One public entry point: the call and its option keys with the values to try. */
interface EntryPoint {
  name: string;
  keys: Record<string, readonly unknown[]>;
  call: (options: object) => unknown;
}

/** Collects an async iterable (or a stream) into an array. */
async function collect(source: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of source) out.push(item);
  return out;
}

function throughStream(stream: TransformStream): Promise<unknown[]> {
  // The platform reads a strategy's highWaterMark and a source's members from Object.prototype
  // too (WebIDL dictionaries do): the source and its strategy have no prototype, so only the
  // library is tested.
  const strategy = Object.assign(Object.create(null), { highWaterMark: 1 });
  const source = Object.assign(Object.create(null), {
    start(controller: ReadableStreamDefaultController) {
      for (const batch of BATCHES) controller.enqueue(batch);
      controller.close();
    },
  });
  const readable = new ReadableStream(source, strategy);
  return collect(readable.pipeThrough(stream) as unknown as AsyncIterable<unknown>);
}

const SYNC_ENTRY_POINTS: EntryPoint[] = [
  { name: "batchCorr", keys: CORRELATION_KEYS, call: (o) => batchCorr(X, N, o) },
  { name: "qcfc", keys: CORRELATION_KEYS, call: (o) => qcfc(X, N, o) },
  { name: "batchCorrFloat32", keys: CORRELATION_KEYS, call: (o) => batchCorrFloat32(X, N, o) },
  {
    name: "new BatchCorrelationLoss().evaluate",
    keys: LOSS_KEYS,
    call: (o) => {
      const loss = new BatchCorrelationLoss(o);
      return [loss.name, loss.nu, loss.evaluate(X, N)];
    },
  },
  {
    name: "new QCFCLoss().valueAndGrad",
    keys: LOSS_KEYS,
    call: (o) => {
      const loss = new QCFCLoss(o);
      return [loss.name, loss.valueAndGrad(X, N, { wrt: "both" })];
    },
  },
  {
    name: "BatchCorrelationLoss.valueAndGrad",
    keys: { wrt: ["X", "both", "N"] },
    call: (o) => new BatchCorrelationLoss({ scalarisation: "meansq" }).valueAndGrad(X, N, o),
  },
  {
    name: "new CorrelationAccumulator",
    keys: {
      featureShape: [[3], [1, 3], [4], [0]],
      confounds: [2, 3, 0],
      maxElements: [6, 5, 2 ** 20, -1],
    },
    call: (o) => new CorrelationAccumulator(o).update(X, N).toBytes(),
  },
  {
    name: "CorrelationAccumulator.correlations",
    keys: CORRELATION_KEYS,
    call: (o) => FIXED.correlations(o),
  },
  {
    name: "CorrelationAccumulator.fromJSON (expected)",
    keys: { featureShape: [[3], [1, 3], [4]], confounds: [2, 3, 0], maxElements: [6, 5, 1.5] },
    call: (o) => CorrelationAccumulator.fromJSON(SNAPSHOT, o).toBytes(),
  },
  {
    name: "CorrelationAccumulator.safeFromBytes (expected)",
    keys: { featureShape: [[3], [3, 1], [2]], confounds: [2, 1, "2"], maxElements: [6, 5] },
    call: (o) => {
      const result = CorrelationAccumulator.safeFromBytes(BYTES, o);
      return result.success ? result.data.toBytes() : result.error;
    },
  },
  {
    name: "exportBatchCorrOnnx",
    keys: {
      features: [3, 2, 0],
      confounds: [2, 1, 2.5],
      abs: [true, false, 1],
      zeroVariance: ["zero", "nan", 0],
    },
    call: (o) => exportBatchCorrOnnx(o as never),
  },
  {
    name: "autoTol (positional: Object.prototype must not matter)",
    keys: { significance: [0.5, 2], tolSig: [0.5], tails: [1, 3], batchSize: [3] },
    call: () => [autoTol(B), autoTol(B, 0.05), autoTol(B, 0.2, 1)],
  },
];

const STREAM_ENTRY_POINTS: EntryPoint[] = [
  {
    name: "batchCorrAsync",
    keys: { ...CORRELATION_KEYS, threads: [1, 2, "auto", 0] },
    call: (o) => batchCorrAsync(X, N, o),
  },
  {
    name: "correlateBatches",
    keys: STREAM_KEYS,
    call: (o) => collect(correlateBatches(BATCHES, o)),
  },
  {
    name: "new BatchCorrStream",
    keys: { ...STREAM_KEYS, highWaterMark: [0, 4, -1] },
    call: (o) => throughStream(new BatchCorrStream(o)),
  },
  {
    name: "batchCorrStream",
    keys: { ...STREAM_KEYS, highWaterMark: [0, 4, 1.5] },
    call: (o) => throughStream(batchCorrStream(o)),
  },
  {
    name: "rowsToBatches",
    keys: {
      batchSize: [2, 3, 0, 2.5],
      confounds: [["c"], ["b", "c"], [], ["missing"]],
      features: [["a", "b"], ["a"], [], [0]],
      partial: ["emit", "drop", "keep"],
    },
    call: (o) => collect(rowsToBatches(ROWS, o as never)),
  },
];

/** Where one key goes: an own placement and an inherited one, either possibly absent. */
interface KeyPlan {
  key: string;
  own: "none" | "plain" | "getter" | "nonEnumerable";
  inherited: "none" | "prototype" | "prototypeGetter" | "objectPrototype" | "objectPrototypeHidden";
  /** Prototype level of an inherited key (1: the object's own prototype). */
  depth: number;
  value: number;
  inheritedValue: number;
  /** The getter's later values (each read after the first). */
  later: number[];
}

/**
 * Keys of the library's own results and internal objects that a polluted
 * Object.prototype may hold too (a view's correlations, a gradient's gradN,
 * the low parts of moments, a decoder's success…): none may change a result.
 */
const INTERNAL_KEYS = [
  "correlations",
  "window",
  "gradient",
  "gradientN",
  "gradN",
  "skipped",
  "decay",
  "meanXLo",
  "meanNLo",
  "success",
  "scaleX",
  "reason",
  "dimValue",
  "floatData",
  "int64Data",
  "ints",
  "start",
  "flush",
  "cancel",
  "size",
  "meta",
  "cause",
  "details",
] as const;
const INTERNAL_VALUES: readonly unknown[] = [
  0.5,
  Float64Array.of(1e6, -1e6, 1e6, -1e6, 1e6, -1e6),
  [1e6, 1e6, 1e6],
  { data: new Float64Array(6), shape: [2, 3] },
  true,
  "x",
];

interface Case {
  entry: number;
  plans: KeyPlan[];
  /** Internal keys set on Object.prototype too, with the index of their value. */
  internal: [typeof INTERNAL_KEYS[number], number][];
  /** Whether the prototype chain ends in null instead of Object.prototype. */
  nullRoot: boolean;
}

function caseArbitrary(entryPoints: readonly EntryPoint[]): fc.Arbitrary<Case> {
  return fc.nat({ max: entryPoints.length - 1 }).chain((entry) => {
    const keys = Object.keys(entryPoints[entry]!.keys);
    const plan = fc.record({
      key: fc.constantFrom(...keys),
      own: fc.constantFrom("none", "plain", "plain", "getter", "nonEnumerable"),
      inherited: fc.constantFrom(
        "none",
        "prototype",
        "prototypeGetter",
        "objectPrototype",
        "objectPrototypeHidden",
      ),
      depth: fc.integer({ min: 1, max: 3 }),
      value: fc.nat(),
      inheritedValue: fc.nat(),
      later: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
    }) as fc.Arbitrary<KeyPlan>;
    return fc.record({
      entry: fc.constant(entry),
      plans: fc.uniqueArray(plan, { maxLength: keys.length, selector: (p) => p.key }),
      internal: fc.uniqueArray(
        fc.tuple(fc.constantFrom(...INTERNAL_KEYS), fc.nat({ max: INTERNAL_VALUES.length - 1 })),
        { maxLength: 3, selector: ([key]) => key },
      ),
      nullRoot: fc.boolean(),
    });
  });
}

/** The option object to build, the plain object it must behave as, and the pollution. */
interface Built {
  hostile: object;
  plain: Record<string, unknown>;
  pollution: [string, PropertyDescriptor][];
  getterReads: Map<string, number>;
}

function build(entryPoint: EntryPoint, testCase: Case): Built {
  const values = (key: string) => entryPoint.keys[key]!;
  // Each placement materialises its own value: a fresh accumulator for each call.
  const pick = (key: string, at: number) => materialise(values(key)[at % values(key).length]);
  const chain: Record<string, unknown>[] = [{}, {}, {}];
  const plain: Record<string, unknown> = {};
  const pollution: [string, PropertyDescriptor][] = [];
  const getterReads = new Map<string, number>();
  const ownDescriptors: [string, PropertyDescriptor][] = [];
  for (const p of testCase.plans) {
    const inheritedValue = pick(p.key, p.inheritedValue);
    const level = chain[p.depth - 1]!;
    if (p.inherited === "prototype") level[p.key] = inheritedValue;
    if (p.inherited === "prototypeGetter") {
      Object.defineProperty(level, p.key, { get: () => inheritedValue, enumerable: true });
    }
    if (p.inherited === "objectPrototype") {
      // As `Object.prototype[key] = value` makes it: enumerable.
      pollution.push([p.key, {
        value: inheritedValue,
        enumerable: true,
        writable: true,
        configurable: true,
      }]);
    }
    if (p.inherited === "objectPrototypeHidden") {
      pollution.push([p.key, { value: inheritedValue, writable: true, configurable: true }]);
    }
    if (p.own === "plain") {
      const value = pick(p.key, p.value);
      plain[p.key] = pick(p.key, p.value);
      ownDescriptors.push([p.key, { value, enumerable: true, writable: true, configurable: true }]);
    }
    if (p.own === "getter") {
      // The first read gives the value; later reads give others (invalid ones among them).
      const first = pick(p.key, p.value);
      const later = p.later.map((at) => pick(p.key, at + 1 + p.value));
      plain[p.key] = pick(p.key, p.value);
      getterReads.set(p.key, 0);
      ownDescriptors.push([p.key, {
        get: () => {
          const reads = getterReads.get(p.key)!;
          getterReads.set(p.key, reads + 1);
          return reads === 0 ? first : later[(reads - 1) % later.length];
        },
        enumerable: true,
        configurable: true,
      }]);
    }
    if (p.own === "nonEnumerable") {
      ownDescriptors.push([p.key, { value: pick(p.key, p.value), writable: true }]);
    }
  }
  for (const [key, at] of testCase.internal) {
    if (pollution.some(([polluted]) => polluted === key)) continue;
    pollution.push([key, { value: INTERNAL_VALUES[at], writable: true, configurable: true }]);
  }
  let root: object | null = testCase.nullRoot ? null : Object.prototype;
  for (let level = chain.length - 1; level >= 0; level--) {
    root = Object.defineProperties(
      Object.create(root),
      Object.getOwnPropertyDescriptors(chain[level]!),
    );
  }
  const hostile = Object.create(root);
  for (const [key, descriptor] of ownDescriptors) Object.defineProperty(hostile, key, descriptor);
  return { hostile, plain, pollution, getterReads };
}

/** Runs `call` (awaited to its end) with Object.prototype polluted; always cleaned up. */
async function withPollution<T>(
  pollution: [string, PropertyDescriptor][],
  call: () => T,
): Promise<Awaited<T>> {
  const proto = Object.prototype as Record<string, unknown>;
  const set: string[] = [];
  try {
    for (const [key, descriptor] of pollution) {
      Object.defineProperty(proto, key, descriptor);
      set.push(key);
    }
    return await call();
  } finally {
    for (const key of set) delete proto[key];
  }
}

type Outcome = { value: unknown } | { error: unknown };

async function outcomeOf(call: () => unknown): Promise<Outcome> {
  try {
    return { value: await call() };
  } catch (error) {
    return { error };
  }
}

/** Bit-for-bit equality of two results (typed arrays by element, NaN equal to NaN, -0 not 0). */
function assertSameResult(actual: unknown, expected: unknown, path: string): void {
  if (typeof expected === "number") {
    assert.ok(Object.is(actual, expected), `${path}: ${actual} !== ${expected}`);
    return;
  }
  if (expected instanceof Error) {
    assert.ok(actual instanceof Error, `${path}: ${actual} instead of ${expected}`);
    assert.equal(actual.constructor, expected.constructor, `${path}: ${actual.message}`);
    assert.equal(actual.message, expected.message, path);
    if (expected.cause !== undefined) {
      assertSameResult(actual.cause, expected.cause, `${path}.cause`);
    }
    return;
  }
  if (expected instanceof CorrelationAccumulator) {
    assert.ok(actual instanceof CorrelationAccumulator, path);
    assertSameResult(actual.toBytes(), expected.toBytes(), `${path} (state)`);
    return;
  }
  if (ArrayBuffer.isView(expected) || Array.isArray(expected)) {
    const a = actual as ArrayLike<unknown>, e = expected as unknown as ArrayLike<unknown>;
    assert.equal(
      Object.prototype.toString.call(actual),
      Object.prototype.toString.call(expected),
      path,
    );
    assert.equal(a.length, e.length, `${path}: length`);
    for (let i = 0; i < e.length; i++) assertSameResult(a[i], e[i], `${path}[${i}]`);
    return;
  }
  if (typeof expected === "object" && expected !== null) {
    assert.ok(typeof actual === "object" && actual !== null, `${path}: ${actual}`);
    const keys = Object.keys(expected).sort();
    assert.deepEqual(Object.keys(actual).sort(), keys, `${path}: keys`);
    for (const key of keys) {
      assertSameResult(
        (actual as Record<string, unknown>)[key],
        (expected as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
    }
    return;
  }
  assert.equal(actual, expected, path);
}

function assertSameOutcome(actual: Outcome, expected: Outcome, what: string): void {
  if ("error" in expected) {
    assert.ok("error" in actual, `${what}: no error, expected ${expected.error}`);
    assertSameResult(actual.error, expected.error, `${what} (error)`);
  } else {
    assert.ok("value" in actual, `${what}: ${"error" in actual && actual.error}`);
    assertSameResult(actual.value, expected.value, what);
  }
}

/** How many cases gave a value and how many an error (both must be common). */
interface Tally {
  values: number;
  errors: number;
}

/** Runs the property over these entry points; a tenth of the cases at least must give a value. */
async function property(entryPoints: readonly EntryPoint[], numRuns: number): Promise<void> {
  const tally: Tally = { values: 0, errors: 0 };
  await fc.assert(
    fc.asyncProperty(caseArbitrary(entryPoints), (c) => check(entryPoints, c, tally)),
    { numRuns, seed: SEED },
  );
  assert.ok(
    tally.values >= numRuns / 10 && tally.errors > 0,
    `${tally.values} values, ${tally.errors} errors`,
  );
}

/** One case: the hostile call (polluted) against the plain call (clean), and the getters' reads. */
async function check(
  entryPoints: readonly EntryPoint[],
  testCase: Case,
  tally: Tally,
): Promise<void> {
  const entryPoint = entryPoints[testCase.entry]!;
  const built = build(entryPoint, testCase);
  const expected = await outcomeOf(() => entryPoint.call({ ...built.plain }));
  const actual = await withPollution(
    built.pollution,
    () => outcomeOf(() => entryPoint.call(built.hostile)),
  );
  assertNoPollution();
  assertSameOutcome(actual, expected, entryPoint.name);
  tally["value" in expected ? "values" : "errors"]++;
  for (const [key, reads] of built.getterReads) {
    assert.ok(reads <= 1, `${entryPoint.name}: the getter of "${key}" was read ${reads} times`);
  }
}

describe("property: inherited option keys at every public entry point", () => {
  test("batchCorr, qcfc, batchCorrFloat32, the losses, the accumulator, its restores and exportBatchCorrOnnx read own enumerable options only, each getter once", async () => {
    await property(SYNC_ENTRY_POINTS, RUNS);
  });

  test("batchCorrAsync, correlateBatches, BatchCorrStream, batchCorrStream and rowsToBatches read own enumerable options only, each getter once, while their batches flow", async () => {
    await property(STREAM_ENTRY_POINTS, RUNS);
  });

  describe("the ONNX backend", () => {
    let backend: OnnxBackend;
    before(async () => {
      backend = await createOnnxBackend({ provider: "cpu", abs: false });
    });
    after(async () => {
      await backend.dispose();
    });

    test("OnnxBackend.run reads own enumerable options only", async () => {
      const entryPoints: EntryPoint[] = [{
        name: "OnnxBackend.run",
        keys: { tol: CORRELATION_KEYS.tol, tolSig: CORRELATION_KEYS.tolSig },
        call: (o) => backend.run(X, N, o),
      }];
      await property(entryPoints, RUNS);
    });

    test("createOnnxBackend reads own enumerable options only (fewer cases: each creates a session)", async () => {
      const entryPoints: EntryPoint[] = [{
        name: "createOnnxBackend",
        keys: {
          provider: ["cpu", "cpu", "nope", 5],
          abs: [true, false, "no"],
          zeroVariance: ["zero", "nan", null],
          threads: [1, 2, -1],
          adapterTimeoutMs: [1000, 0],
        },
        call: async (o) => {
          const created = await createOnnxBackend(o);
          try {
            const { data, raw, tol } = await created.run(X, N);
            return [created.provider, data, raw, tol];
          } finally {
            await created.dispose();
          }
        },
      }];
      await property(entryPoints, Math.min(RUNS, 200));
    });
  });
});
