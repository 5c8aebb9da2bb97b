import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  autoTol,
  batchCorr,
  BatchCorrelationLoss,
  batchCorrFloat32,
  batchCorrStream,
  correlateBatches,
  CorrelationAccumulator,
  exportBatchCorrOnnx,
  rowsToBatches,
} from "../../mod.ts";
import { fromArrow, toArrowIpc } from "../../src/arrow/mod.ts";
import { fromParquet } from "../../src/parquet/mod.ts";
import {
  AggregateView,
  CheckpointedFold,
  encodeBatchEnvelope,
  globalValueAndGrad,
} from "../../src/distributed/mod.ts";
import { readRedisCommitted, runRedisWorker, trimRedisStream } from "../../src/redis/mod.ts";
import { readNatsCommitted, runNatsWorker } from "../../src/nats/mod.ts";
import { BatchCorrelationLossTf, batchCorrTf, toTfBatch } from "../../src/tfjs/mod.ts";
import { parseOptions } from "../../src/core/parse_options.ts";
import { batchCorrOptionsSchema, OPTION_RULES } from "../../src/core/batch_corr_options.ts";

const X = [[1, 4], [2, 2], [3, 3], [5, 0]];
const N = [0.2, 0.5, 0.1, 0.9];

/** A value no option accepts: read, it fails validation and names itself. */
const INHERITED = Symbol("inherited");

/** Runs `call`, turning a throw or a rejection into the error. */
async function outcome(call: () => unknown): Promise<unknown> {
  try {
    const value = await call();
    // An async generator parses on creation; nothing else needs to run.
    return value;
  } catch (error) {
    return error;
  }
}

function describeOutcome(result: unknown): string {
  return result instanceof Error ? `${result.name}: ${result.message}` : "no error";
}

/** Sets `Object.prototype[key]` while `call` runs (to its end, awaited). */
async function withPollution<T>(key: string, value: unknown, call: () => Promise<T>): Promise<T> {
  const proto = Object.prototype as Record<string, unknown>;
  Object.defineProperty(proto, key, { value, configurable: true, writable: true });
  try {
    return await call();
  } finally {
    delete proto[key];
  }
}

/**
 * One public boundary: the call, a valid own-options object, and the keys to
 * try (optional keys are ignored when inherited; required keys read as
 * missing, "current value is undefined").
 */
interface Boundary {
  name: string;
  call: (options: object) => unknown;
  own: Record<string, unknown>;
  optional: string[];
  required: string[];
}

const loss = new BatchCorrelationLoss();
// Valid values for the keys not under test; only ever used with one key missing, so no
// connection is attempted (the options are refused first).
const REDIS = { redis: "redis://127.0.0.1:1", stream: "s", group: "g" };
const NATS = { nats: "nats://127.0.0.1:1", stream: "s", group: "g" };
const global = new CorrelationAccumulator().update(X, N);

const BOUNDARIES: Boundary[] = [
  {
    name: "batchCorr",
    call: (o) => batchCorr(X, N, o),
    own: {},
    optional: ["tol", "tolSig", "abs", "zeroVariance", "maxElements"],
    required: [],
  },
  {
    name: "batchCorrFloat32",
    call: (o) => batchCorrFloat32(X, N, o),
    own: {},
    optional: ["tol", "abs", "zeroVariance"],
    required: [],
  },
  {
    name: "new BatchCorrelationLoss",
    call: (o) => new BatchCorrelationLoss(o).evaluate(X, N),
    own: {},
    optional: ["nu", "name", "scalarisation", "tol", "tolSig", "abs", "zeroVariance"],
    required: [],
  },
  {
    name: "BatchCorrelationLoss.valueAndGrad",
    call: (o) => loss.valueAndGrad(X, N, o).value,
    own: {},
    optional: ["wrt"],
    required: [],
  },
  {
    name: "new CorrelationAccumulator",
    call: (o) => new CorrelationAccumulator(o).update(X, N).count,
    own: {},
    optional: ["featureShape", "confounds", "maxElements"],
    required: [],
  },
  {
    name: "CorrelationAccumulator.correlations",
    call: (o) => global.correlations(o),
    own: {},
    optional: ["tol", "abs", "zeroVariance"],
    required: [],
  },
  {
    name: "CorrelationAccumulator.fromJSON (expected)",
    call: (o) => CorrelationAccumulator.fromJSON(global.toJSON(), o).count,
    own: {},
    optional: ["featureShape", "confounds", "maxElements"],
    required: [],
  },
  {
    name: "correlateBatches",
    call: (o) => correlateBatches([{ x: X, n: N }], o),
    own: {},
    optional: ["decay", "onInvalid", "output", "gradient", "accumulator", "backend", "nu"],
    required: [],
  },
  {
    name: "batchCorrStream",
    call: (o) => batchCorrStream(o),
    own: {},
    optional: ["highWaterMark", "decay", "tol"],
    required: [],
  },
  {
    name: "rowsToBatches",
    call: (o) => rowsToBatches([], o as never),
    own: { batchSize: 2, confounds: ["c"] },
    optional: ["features", "partial"],
    required: ["batchSize", "confounds"],
  },
  {
    name: "exportBatchCorrOnnx",
    call: (o) => exportBatchCorrOnnx(o as never).length,
    own: { features: 2, confounds: 1 },
    optional: ["abs", "zeroVariance"],
    required: ["features", "confounds"],
  },
  {
    name: "fromArrow (arrow)",
    call: (o) => fromArrow(new Uint8Array(8), o as never),
    own: { confounds: ["c"] },
    optional: ["features", "nulls", "batchSize", "partial", "onSkippedRow", "reuseBuffers"],
    required: ["confounds"],
  },
  {
    name: "toArrowIpc (arrow)",
    call: (o) => toArrowIpc([], o as never),
    own: { columns: [{ name: "a", type: "float64" }] },
    optional: ["rowsPerBatch"],
    required: ["columns"],
  },
  {
    name: "fromParquet (parquet)",
    call: (o) => fromParquet(new Uint8Array(8), o as never),
    own: { confounds: ["c"] },
    optional: ["features", "nulls", "batchSize", "compressors"],
    required: ["confounds"],
  },
  {
    name: "encodeBatchEnvelope (distributed)",
    call: (o) => encodeBatchEnvelope({ id: "b", x: X, n: N }, o).length,
    own: {},
    optional: ["dtype"],
    required: [],
  },
  {
    name: "globalValueAndGrad (distributed)",
    call: (o) => globalValueAndGrad(loss, X, N, global, o).value,
    own: {},
    optional: ["wrt"],
    required: [],
  },
  {
    name: "new AggregateView (distributed)",
    call: (o) => new AggregateView(o) && true,
    own: {},
    optional: ["window", "output", "loss"],
    required: [],
  },
  {
    name: "new CheckpointedFold (distributed)",
    call: (o) => new CheckpointedFold({} as never, o) && true,
    own: {},
    optional: ["maxElements", "maxDeliveries"],
    required: [],
  },
  {
    name: "trimRedisStream (redis)",
    call: (o) => trimRedisStream(o as never),
    own: REDIS,
    optional: [],
    required: ["redis", "stream"],
  },
  {
    name: "runRedisWorker (redis)",
    call: (o) => runRedisWorker(o as never),
    own: REDIS,
    optional: [],
    required: ["redis", "stream", "group"],
  },
  {
    name: "readRedisCommitted (redis)",
    call: (o) => readRedisCommitted(o as never),
    own: REDIS,
    optional: [],
    required: ["redis", "stream"],
  },
  {
    name: "readNatsCommitted (nats)",
    call: (o) => readNatsCommitted(o as never),
    own: NATS,
    optional: [],
    required: ["nats", "stream", "group"],
  },
  {
    name: "runNatsWorker (nats)",
    call: (o) => runNatsWorker(o as never),
    own: NATS,
    optional: [],
    required: ["nats", "stream"],
  },
];

describe("every public boundary reads its options' own properties only", () => {
  for (const boundary of BOUNDARIES) {
    for (const key of boundary.optional) {
      test(`${boundary.name}: an inherited or Object.prototype "${key}" is ignored, an own one is read`, async () => {
        const own = await outcome(() => boundary.call({ ...boundary.own, [key]: INHERITED }));
        assert.ok(
          (own instanceof TypeError || own instanceof RangeError) &&
            /Symbol\(inherited\)/.test(own.message),
          `${boundary.name} must read an own "${key}" (so the test can fail): ${
            describeOutcome(own)
          }`,
        );
        const inherited = await outcome(() =>
          boundary.call(Object.assign(Object.create({ [key]: INHERITED }), boundary.own))
        );
        assert.ok(!(inherited instanceof Error), `inherited: ${describeOutcome(inherited)}`);
        const polluted = await withPollution(
          key,
          INHERITED,
          () => outcome(() => boundary.call({ ...boundary.own })),
        );
        assert.ok(!(polluted instanceof Error), `Object.prototype: ${describeOutcome(polluted)}`);
      });
    }
    for (const key of boundary.required) {
      test(`${boundary.name}: an inherited or Object.prototype "${key}" is missing`, async () => {
        const { [key]: _omitted, ...rest } = boundary.own;
        const missing = new RegExp(`options\\.${key} must be .*: current value is undefined`);
        for (
          const make of [
            () => boundary.call(Object.assign(Object.create({ [key]: INHERITED }), rest)),
            () => withPollution(key, INHERITED, () => outcome(() => boundary.call({ ...rest }))),
          ]
        ) {
          const result = await outcome(make);
          assert.ok(
            result instanceof TypeError && missing.test(result.message),
            describeOutcome(result),
          );
        }
      });
    }
  }

  test("the tfjs entry points ignore inherited and Object.prototype keys too", async () => {
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    const x = tf.tensor2d(X), n = tf.tensor1d(N);
    try {
      const calls: [string, (options: object) => unknown][] = [
        ["batchCorrTf", (o) => tf.tidy(() => batchCorrTf(x, n, o).dataSync()[0])],
        ["BatchCorrelationLossTf", (o) => new BatchCorrelationLossTf(o) && true],
        ["toTfBatch", (o) => tf.dispose(Object.values(toTfBatch(X, N, o)) as never) ?? true],
      ];
      for (const [name, call] of calls) {
        for (const key of ["tol", "abs", "maxElements", "scalarisation"]) {
          if (name === "toTfBatch" && key !== "maxElements") continue;
          const own = await outcome(() => call({ [key]: INHERITED }));
          assert.ok(own instanceof TypeError, `${name} own ${key}: ${describeOutcome(own)}`);
          const inherited = await outcome(() => call(Object.create({ [key]: INHERITED })));
          assert.ok(!(inherited instanceof Error), `${name} ${key}: ${describeOutcome(inherited)}`);
          const polluted = await withPollution(key, INHERITED, () => outcome(() => call({})));
          assert.ok(!(polluted instanceof Error), `${name} ${key}: ${describeOutcome(polluted)}`);
        }
      }
    } finally {
      tf.dispose([x, n]);
    }
  });
});

describe("parseOptions()", () => {
  test("reads each getter once and validates what it read", () => {
    let reads = 0;
    const options = {
      get tol() {
        reads++;
        return reads === 1 ? 0.1 : -5;
      },
    };
    const parsed = parseOptions(batchCorrOptionsSchema, options, "test", OPTION_RULES);
    assert.equal(parsed.tol, 0.1);
    assert.equal(reads, 1);
  });

  test("a cyclic option value is refused with the option's rule, not a stack overflow", () => {
    const array: unknown[] = [];
    array.push(array);
    const record: Record<string, unknown> = {};
    record.self = record;
    for (const [value, shown] of [[array, "an array of length 1"], [record, "an object"]]) {
      assert.throws(() => batchCorr(X, N, { tol: value } as never), {
        name: "TypeError",
        message:
          `Cannot compute batchCorr as options.tol must be a finite non-negative number or "auto": current value is ${shown}`,
      });
    }
  });

  test("an absent optional key of the result reads as undefined whatever Object.prototype holds", async () => {
    const schema = batchCorrOptionsSchema.partial().extend({});
    const parsed = parseOptions(schema, {}, "test", OPTION_RULES) as Record<string, unknown>;
    await withPollution("zeroVariance", "nan", () => {
      assert.equal(parsed.zeroVariance, "zero");
      return Promise.resolve();
    });
    assert.equal(batchCorr(X, N).zeroVarianceFeatures, 0);
  });

  test("positional numbers are unaffected (autoTol)", async () => {
    const expected = autoTol(20);
    await withPollution("significance", 0.5, () => {
      assert.equal(autoTol(20), expected);
      return Promise.resolve();
    });
  });
});
