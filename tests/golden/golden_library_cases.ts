/**
 * The fixed set of library outputs behind `tests/fixtures/golden_library.json`:
 * seeded inputs pushed through every library path (batchCorr, the float32
 * path, the losses and scalarisations, valueAndGrad, the accumulator and its
 * snapshots, the streams, the kernels, the ONNX export and backend), every
 * number recorded as its float64 bit pattern, and the messages of the errors
 * a set of hostile inputs raises.
 *
 * Inputs come from mulberry32 through integer arithmetic and power-of-two
 * scalings only, so they are the same bits in every engine.
 * `scripts/gen_golden.ts` writes the fixture once, from the code before a
 * refactoring; `tests/golden/golden_library_test.ts` recomputes and requires the
 * same bits.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  autoTol,
  type Batch,
  batchCorr,
  BatchCorrelationLoss,
  batchCorrFloat32,
  BatchCorrStream,
  type BatchResult,
  correlateBatches,
  CorrelationAccumulator,
  createOnnxBackend,
  exportBatchCorrOnnx,
  max,
  mean,
  meansq,
  qcfc,
  QCFCLoss,
  rowsToBatches,
  type Scalarisation,
  type ScalarisationLike,
  sum,
  type TensorLike,
  vnorm,
} from "../../mod.ts";
import {
  computeBatchMomentsFloat32,
  computeBatchMomentsWith,
  type MomentsKernel,
} from "../../src/kernels/compute_batch_moments.ts";
import { mulberry32 } from "../random.ts";

/** A recorded output: numbers become `n:` + their float64 bits in hex (safe integers stay numbers). */
export type Encoded = string | number | boolean | null | Encoded[] | { [key: string]: Encoded };

function bitsOf(value: number): string {
  // NaN payloads differ between engines and mean nothing: every NaN is recorded alike.
  if (Number.isNaN(value)) return "7ff8000000000000";
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return view.getBigUint64(0).toString(16).padStart(16, "0");
}

/** Encoded arrays longer than this many characters are stored as a digest. */
const DIGEST_OVER = 64;

/**
 * A long encoded array as `prefix#length:` + the first 128 bits of the
 * SHA-256 of its text: the fixture stays small, and a changed bit still
 * changes the digest (its path is still reported; the element is not).
 */
function compact(encoded: string): string {
  if (encoded.length <= DIGEST_OVER) return encoded;
  const colon = encoded.indexOf(":");
  const body = encoded.slice(colon + 1);
  const digest = createHash("sha256").update(body).digest("hex").slice(0, 32);
  return `${encoded.slice(0, colon)}#${body.length}:${digest}`;
}

function bytesHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Encodes a value: safe integers (but -0) as they are, other numbers as `n:` +
 * float64 bits, float64 (and plain number) arrays as `a64:` + the bits of
 * every element, float32 arrays as `a32:` +
 * their float64 widening, bytes as `u8:` + hex, strings as `s:` + the text;
 * an encoded array longer than 64 characters as its digest (`compact`).
 */
export function encode(value: unknown): Encoded {
  if (isPlainInteger(value)) return value;
  if (typeof value === "number") return `n:${bitsOf(value)}`;
  if (typeof value === "string") return `s:${value}`;
  if (typeof value === "boolean" || value === null) return value;
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return `big:${value}`;
  if (value instanceof Uint8Array) return compact(`u8:${bytesHex(value)}`);
  if (value instanceof Float64Array) return compact(`a64:${Array.from(value, bitsOf).join("")}`);
  if (value instanceof Float32Array) return compact(`a32:${Array.from(value, bitsOf).join("")}`);
  if (value instanceof Int32Array) return compact(`i32:${Array.from(value).join(",")}`);
  if (Array.isArray(value)) {
    if (value.every(isPlainInteger)) return value;
    if (value.every((v) => typeof v === "number")) {
      return compact(`a64:${value.map((v) => bitsOf(v as number)).join("")}`);
    }
    return value.map(encode);
  }
  if (value instanceof Error) {
    const record: Record<string, Encoded> = {
      name: encode(value.name),
      message: encode(value.message),
    };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) record.code = encode(code);
    const details = (value as { details?: unknown }).details;
    if (details !== undefined) record.details = encode(details);
    if (value.cause !== undefined) record.cause = encode(value.cause);
    return record;
  }
  if (typeof value === "object") {
    const record: Record<string, Encoded> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (typeof v === "function") continue;
      record[key] = encode(v);
    }
    return record;
  }
  return `other:${String(value)}`;
}

/** Integers are exact in JSON as they are: only -0 needs its bits. */
function isPlainInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && !Object.is(value, -0);
}

/** The error a call throws, encoded; "no error" when it returns. */
function thrown(run: () => unknown): Encoded {
  try {
    run();
  } catch (error) {
    return encode(error);
  }
  return "s:no error";
}

/** JSON.parse's own message differs between engines: the library's part of the text is kept. */
function withoutParserText(error: Encoded): Encoded {
  const record = error as Record<string, Encoded>;
  return {
    ...record,
    message: String(record.message).replace(/\(.*\)$/, "(the engine's parse error)"),
  };
}

async function rejected(run: () => Promise<unknown>): Promise<Encoded> {
  try {
    await run();
  } catch (error) {
    return encode(error);
  }
  return "s:no error";
}

// ---------------------------------------------------------------------------
// Inputs: dyadic values from mulberry32, so every engine builds the same bits.

/** A dyadic value in [-512, 512) with 10 fractional bits. */
function dyadic(random: () => number): number {
  return (Math.floor(random() * 2 ** 20) - 2 ** 19) / 2 ** 10;
}

/** What to do to a batch's columns after drawing it. */
interface Shaping {
  /** Read X as a Float32Array. */
  float32?: boolean;
  /** Multiply these natural columns of X by a power of two. */
  scaleColumns?: Record<number, number>;
  /** Multiply these confounds by a power of two. */
  scaleConfounds?: Record<number, number>;
  /** Add `offset` (1e9) plus fine noise to these natural columns of X. */
  offsetColumns?: number[];
  /** Set these natural columns of X to 0.1. */
  constantColumns?: number[];
  /** Set these confounds to 0.3. */
  constantConfounds?: number[];
  /** Give N as a vector `(B)` (M must be 1). */
  vectorN?: boolean;
}

interface DenseBatch {
  x: { data: Float64Array | Float32Array; shape: number[] };
  n: { data: Float64Array; shape: number[] };
}

/**
 * A batch whose features mix the confounds with noise (so correlations are
 * far from 0 and of both signs), shaped as asked.
 */
function makeBatch(
  seed: number,
  B: number,
  featureShape: number[],
  M: number,
  shaping: Shaping = {},
): DenseBatch {
  const random = mulberry32(seed);
  const F = featureShape.reduce((a, b) => a * b, 1);
  const n = new Float64Array(M * B);
  for (let i = 0; i < n.length; i++) n[i] = dyadic(random);
  const x = new Float64Array(B * F);
  for (let b = 0; b < B; b++) {
    for (let f = 0; f < F; f++) {
      const weight = ((f % 5) - 2) * 0.75;
      x[b * F + f] = dyadic(random) + weight * n[(f % M) * B + b]!;
    }
  }
  for (const [column, factor] of Object.entries(shaping.scaleColumns ?? {})) {
    for (let b = 0; b < B; b++) x[b * F + Number(column)]! *= factor;
  }
  for (const [confound, factor] of Object.entries(shaping.scaleConfounds ?? {})) {
    for (let b = 0; b < B; b++) n[Number(confound) * B + b]! *= factor;
  }
  for (const column of shaping.offsetColumns ?? []) {
    for (let b = 0; b < B; b++) {
      // 1e9 plus noise on a 2^-22 grid: 52 significant bits, exact in float64; sums round.
      x[b * F + column] = 1e9 + (Math.floor(random() * 2 ** 21) - 2 ** 20) / 2 ** 22;
    }
  }
  for (const column of shaping.constantColumns ?? []) {
    for (let b = 0; b < B; b++) x[b * F + column] = 0.1;
  }
  for (const confound of shaping.constantConfounds ?? []) {
    for (let b = 0; b < B; b++) n[confound * B + b] = 0.3;
  }
  const xData = shaping.float32 ? Float32Array.from(x) : x;
  const nShape = shaping.vectorN ? [B] : [M, B];
  return { x: { data: xData, shape: [B, ...featureShape] }, n: { data: n, shape: nShape } };
}

const RANKS: number[][] = [[], [3], [3, 2], [2, 1, 2]];

// ---------------------------------------------------------------------------
// Sections.

function batchCorrSection(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  let seed = 100;
  for (const [rank, featureShape] of RANKS.entries()) {
    for (const M of [1, 2, 3, 4]) {
      for (const float32 of [false, true]) {
        const batch = makeBatch(seed++, 11, featureShape, M, {
          float32,
          vectorN: M === 1 && rank % 2 === 0,
        });
        const settings = float32
          ? [[0.15, false], ["auto", true]] as const
          : [[0, false], [0.15, true], [0.15, false], ["auto", true]] as const;
        for (const [tol, abs] of settings) {
          const name = `rank${rank + 1}/M${M}/${float32 ? "f32" : "f64"}/tol${tol}/abs${abs}`;
          out[name] = encode(batchCorr(batch.x, batch.n, { tol, abs }));
        }
        out[`rank${rank + 1}/M${M}/${float32 ? "f32" : "f64"}/qcfc`] = encode(
          qcfc(batch.x, batch.n, { tol: "auto", tolSig: 0.05 }),
        );
      }
    }
  }
  for (const [name, batch] of Object.entries(specialBatches())) {
    for (const zeroVariance of ["zero", "nan"] as const) {
      out[`${name}/${zeroVariance}`] = encode(
        batchCorr(batch.x, batch.n, { abs: false, zeroVariance }),
      );
      out[`${name}/${zeroVariance}/auto`] = encode(
        batchCorr(batch.x, batch.n, { tol: "auto", zeroVariance }),
      );
    }
  }
  return out;
}

/** Batches that take the rescaling, corrected two-pass and zero-variance paths. */
function specialBatches() {
  return {
    huge: makeBatch(201, 9, [4], 2, {
      scaleColumns: { 1: 2 ** 664 },
      scaleConfounds: { 0: 2 ** 600 },
    }),
    tiny: makeBatch(202, 9, [4], 2, {
      scaleColumns: { 2: 2 ** -664 },
      scaleConfounds: { 1: 2 ** -600 },
    }),
    hugeRank3: makeBatch(203, 7, [2, 3], 1, { scaleColumns: { 4: 2 ** 700 } }),
    offset: makeBatch(204, 64, [3], 2, { offsetColumns: [0, 2] }),
    offsetF32: makeBatch(205, 40, [3], 1, { offsetColumns: [1], float32: true }),
    constant: makeBatch(206, 12, [4], 3, { constantColumns: [1, 3], constantConfounds: [2] }),
    constantRank3: makeBatch(207, 6, [2, 2], 2, { constantColumns: [0] }),
  } satisfies Record<string, DenseBatch>;
}

function float32Section(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  let seed = 300;
  for (const [rank, featureShape] of RANKS.entries()) {
    for (const M of [1, 3]) {
      for (const float32 of [false, true]) {
        const batch = makeBatch(seed++, 70, featureShape, M, { float32 });
        for (const tol of [0, "auto"] as const) {
          out[`rank${rank + 1}/M${M}/${float32 ? "f32" : "f64"}/tol${tol}`] = encode(
            batchCorrFloat32(batch.x, batch.n, { tol, abs: tol === 0 }),
          );
        }
      }
    }
  }
  // Wide enough for the fast kernel's strips of 16 and its exact remainder.
  const wide = makeBatch(310, 33, [37], 2, { float32: true });
  out.wide = encode(batchCorrFloat32(wide.x, wide.n, { abs: false }));
  for (const [name, batch] of Object.entries(specialBatches())) {
    out[name] = encode(batchCorrFloat32(batch.x, batch.n, { abs: false }));
  }
  return out;
}

const SCALARISATIONS: Record<string, ScalarisationLike> = {
  sum: "sum",
  mean: "mean",
  meansq: "meansq",
  max: "max",
  vnorm: "vnorm",
  vnorm1: vnorm(1),
  vnorm3: vnorm(3),
  vnormInf: vnorm(Infinity),
  vnormNegInf: vnorm(-Infinity),
  vnorm0: vnorm(0),
  vnormHalf: vnorm(0.5),
};

function lossSection(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  const batches = {
    plain: makeBatch(400, 13, [4], 2),
    rank3: makeBatch(401, 10, [2, 3], 3),
    vector: makeBatch(402, 8, [3], 1, { vectorN: true }),
    huge: specialBatches().huge,
    constant: specialBatches().constant,
  };
  for (const [batchName, batch] of Object.entries(batches)) {
    for (const [name, scalarisation] of Object.entries(SCALARISATIONS)) {
      for (
        const options of [{ tol: 0, abs: true }, { tol: 0.1, abs: false }, {
          tol: "auto" as const,
          abs: true,
          nu: 0.75,
        }]
      ) {
        const key = `${batchName}/${name}/tol${options.tol}/abs${options.abs}`;
        out[key] = encode(
          new BatchCorrelationLoss({ ...options, scalarisation }).evaluate(batch.x, batch.n),
        );
      }
    }
    const custom = (values: Float64Array): number => values.reduce((a, b) => a + b * b * b, 0);
    out[`${batchName}/custom`] = encode(
      new BatchCorrelationLoss({ scalarisation: custom, nu: 2 }).evaluate(batch.x, batch.n),
    );
    out[`${batchName}/qcfc`] = encode(new QCFCLoss({ tol: "auto" }).evaluate(batch.x, batch.n));
  }
  const values = new Float64Array([0.5, -0.25, 0.125, 0, -0.75, 0.75, 1e-200, -3]);
  const scalarisations: Record<string, Scalarisation> = {
    sum,
    mean,
    meansq,
    max,
    v2: vnorm(),
    v1: vnorm(1),
    v3: vnorm(3),
    vInf: vnorm(Infinity),
  };
  for (const [name, s] of Object.entries(scalarisations)) {
    const gradient = new Float64Array(values.length);
    s.gradient?.(values, gradient);
    out[`reduce/${name}`] = encode({ name: s.name, value: s.reduce(values), gradient });
  }
  return out;
}

function gradientSection(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  const everyScalarisation = {
    plain: makeBatch(500, 8, [3], 2),
    rank3: makeBatch(501, 6, [2, 2], 2),
  };
  const some = {
    rank4: makeBatch(502, 5, [2, 1, 2], 3),
    vector: makeBatch(503, 7, [3], 1, { vectorN: true }),
    f32: makeBatch(504, 6, [3], 2, { float32: true }),
    huge: specialBatches().huge,
    tiny: specialBatches().tiny,
    offset: makeBatch(505, 24, [2], 1, { offsetColumns: [0] }),
    constant: makeBatch(506, 6, [3], 2, { constantColumns: [1], constantConfounds: [1] }),
  };
  const settings = [{ tol: 0, abs: true }, { tol: "auto" as const, abs: false, nu: 1.5 }];
  const record = (batchName: string, batch: DenseBatch, names: string[]): void => {
    names.forEach((name, i) => {
      const options = settings[i % 2]!;
      const loss = new BatchCorrelationLoss({ ...options, scalarisation: SCALARISATIONS[name]! });
      out[`${batchName}/${name}/tol${options.tol}`] = encode(
        loss.valueAndGrad(batch.x, batch.n, { wrt: "both" }),
      );
    });
    out[`${batchName}/X`] = encode(
      new BatchCorrelationLoss({ tol: 0.05 }).valueAndGrad(batch.x, batch.n),
    );
  };
  const all = Object.keys(SCALARISATIONS).filter((name) => name !== "vnormHalf");
  for (const [name, batch] of Object.entries(everyScalarisation)) record(name, batch, all);
  for (const [name, batch] of Object.entries(some)) record(name, batch, ["mean", "max", "vnorm3"]);
  const nanLoss = new BatchCorrelationLoss({ zeroVariance: "nan" });
  out.nanValue = encode(nanLoss.valueAndGrad(some.constant.x, some.constant.n, { wrt: "both" }));
  return out;
}

function accumulatorSection(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  const shapes: [string, number[], number][] = [["flat", [3], 2], ["rank3", [2, 3], 1], ["rank4", [
    2,
    1,
    2,
  ], 3]];
  for (const [name, featureShape, M] of shapes) {
    const batches = [0, 1, 2, 3].map((i) => makeBatch(600 + i, 4 + 3 * i, featureShape, M));
    const acc = new CorrelationAccumulator();
    const steps: Encoded[] = [];
    for (const batch of batches) {
      acc.update(batch.x, batch.n);
      steps.push(
        encode({
          count: acc.count,
          effective: acc.effectiveCount,
          r: acc.correlations({ abs: false }),
        }),
      );
    }
    out[`${name}/steps`] = steps;
    out[`${name}/auto`] = encode(acc.correlations({ tol: "auto", tolSig: 0.2 }));
    out[`${name}/nan`] = encode(acc.correlations({ zeroVariance: "nan", tol: 0.05 }));
    out[`${name}/moments`] = encode(acc.moments());
    out[`${name}/json`] = encode(acc.toJSON());
    out[`${name}/bytes`] = encode(acc.toBytes());
    const left = new CorrelationAccumulator().update(batches[0]!.x, batches[0]!.n).update(
      batches[1]!.x,
      batches[1]!.n,
    );
    const right = new CorrelationAccumulator().update(batches[2]!.x, batches[2]!.n).update(
      batches[3]!.x,
      batches[3]!.n,
    );
    out[`${name}/merge`] = encode(left.clone().merge(right).toJSON());
    out[`${name}/mergeReverse`] = encode(right.clone().merge(left).toJSON());
    const viaMoments = new CorrelationAccumulator();
    for (const batch of batches) {
      const { count, features, confounds } = {
        count: batch.x.shape[0]!,
        features: featureShape.reduce((a, b) => a * b, 1),
        confounds: M,
      };
      const moments = computeBatchMomentsWith(
        "typescript",
        batch.x.data,
        batch.n.data,
        count,
        features,
        confounds,
      );
      viaMoments.updateMoments(moments, featureShape);
    }
    out[`${name}/updateMoments`] = encode(viaMoments.toJSON());
    const bytes = encode(acc.toBytes());
    out[`${name}/fromJSON`] =
      encode(CorrelationAccumulator.fromJSON(JSON.stringify(acc)).toBytes()) === bytes;
    out[`${name}/fromBytes`] =
      encode(CorrelationAccumulator.fromBytes(acc.toBytes()).toBytes()) === bytes;
  }
  for (const [name, batch] of Object.entries(specialBatches())) {
    if (name.startsWith("huge") || name === "tiny") {
      out[`special/${name}`] = thrown(() => new CorrelationAccumulator().update(batch.x, batch.n));
      continue;
    }
    const acc = new CorrelationAccumulator().update(batch.x, batch.n).update(batch.x, batch.n);
    out[`special/${name}`] = encode({ json: acc.toJSON(), r: acc.correlations({ abs: false }) });
  }
  out.empty = encode({
    json: new CorrelationAccumulator().toJSON(),
    bytes: new CorrelationAccumulator().toBytes(),
  });
  const shaped = new CorrelationAccumulator({ featureShape: [2, 2], confounds: 2 });
  out.shaped = encode({
    json: shaped.toJSON(),
    bytes: shaped.toBytes(),
    moments: shaped.moments(),
  });
  Object.assign(out, snapshotErrors());
  return out;
}

/** Hostile snapshots and the exact error each raises. */
function snapshotErrors(): Record<string, Encoded> {
  const acc = new CorrelationAccumulator().update([[1, 2], [2, 1], [4, 4], [3, 0]], [[1, 3, 2, 5], [
    0,
    1,
    1,
    0,
  ]]);
  const good = acc.toJSON();
  const v1 = {
    format: "batch-corr/accumulator",
    version: 1,
    featureShape: [2],
    confounds: 1,
    count: 5,
    weightSquares: 5,
    meanX: [1000000000, 2.2],
    meanN: [0.525],
    m2X: [0.5312499900658945, 14.8],
    m2N: [0.5125],
    comoment: [0.37500000695387525, -1.9000000000000001],
  };
  const json: Record<string, unknown> = {
    version3: { ...good, version: 3 },
    version1WithLow: { ...good, version: 1 },
    versionString: { ...good, version: "2" },
    format: { ...good, format: "other" },
    notJSON: "not json",
    nullInput: null,
    array: [1, 2],
    number: 5,
    protoKey: '{"__proto__": {"polluted": 1}}',
    constructorKey: { ...good, constructor: 1 },
    extraKey: { ...good, extra: 1 },
    missingKey: (({ m2N: _m2N, ...rest }) => rest)(good),
    classInstance: new (class Snapshot {})(),
    nullPrototype: Object.assign(Object.create(null), good),
    symbolKey: { ...good, [Symbol("s")]: 1 },
    shapeZero: { ...good, featureShape: [0] },
    shapeFloat: { ...good, featureShape: [1.5] },
    shapeString: { ...good, featureShape: "2" },
    shapeLong: { ...good, featureShape: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
    confoundsZero: { ...good, confounds: 0 },
    confoundsString: { ...good, confounds: "2" },
    countString: { ...good, count: "4" },
    countNegative: { ...good, count: -1 },
    countNaN: { ...good, count: Number.NaN },
    weightSquaresString: { ...good, weightSquares: null },
    weightSquaresZero: { ...good, weightSquares: 0 },
    weightSquaresHuge: { ...good, weightSquares: 1e9 },
    countZeroWeights: { ...good, count: 0 },
    meanXShort: { ...good, meanX: [1] },
    meanXString: { ...good, meanX: "1,2" },
    meanXNaN: { ...good, meanX: [1, Number.NaN] },
    meanXBig: { ...good, meanX: [1, 10n] },
    meanXObject: { ...good, meanX: [1, { a: 1 }] },
    m2XNegative: { ...good, m2X: [-1, 1] },
    m2NInfinity: { ...good, m2N: [Infinity, 1] },
    comomentLong: { ...good, comoment: [...good.comoment, 0] },
    cauchySchwarz: { ...good, comoment: [37, ...good.comoment.slice(1)] },
    lowPart: { ...good, meanXLo: [0.5, 0] },
    lowPartShort: { ...good, meanNLo: [] },
    unknownShapeCount: {
      ...good,
      featureShape: null,
      confounds: null,
      meanX: [],
      meanN: [],
      meanXLo: [],
      meanNLo: [],
      m2X: [],
      m2N: [],
      comoment: [],
    },
    unknownShapeArrays: { ...good, featureShape: null, count: 0, weightSquares: 0 },
    v1: v1,
    v1Text: JSON.stringify(v1),
    v1Extra: { ...v1, meanNLo: [0] },
  };
  const out: Record<string, Encoded> = {};
  for (const [name, input] of Object.entries(json)) {
    out[`fromJSON/${name}`] = thrown(() => CorrelationAccumulator.fromJSON(input));
  }
  out["fromJSON/notJSON"] = withoutParserText(out["fromJSON/notJSON"]!);
  out["fromJSON/v1/restored"] = encode(CorrelationAccumulator.fromJSON(v1).toJSON());
  out["fromJSON/expectedShape"] = thrown(() =>
    CorrelationAccumulator.fromJSON(good, { featureShape: [3] })
  );
  out["fromJSON/expectedConfounds"] = thrown(() =>
    CorrelationAccumulator.fromJSON(good, { confounds: 1 })
  );
  out["fromJSON/expectedUnknown"] = thrown(() =>
    CorrelationAccumulator.fromJSON(new CorrelationAccumulator().toJSON(), { featureShape: [2] })
  );
  out["fromJSON/maxElements"] = thrown(() =>
    CorrelationAccumulator.fromJSON(good, { maxElements: 3 })
  );
  out["fromJSON/badExpected"] = thrown(() =>
    CorrelationAccumulator.fromJSON(good, { shape: [2] } as never)
  );
  out["fromJSON/badExpectedType"] = thrown(() =>
    CorrelationAccumulator.fromJSON(good, { confounds: -2 })
  );

  const bytes = acc.toBytes();
  const patched = (mutate: (view: DataView, copy: Uint8Array) => void): Uint8Array => {
    const copy = bytes.slice();
    mutate(new DataView(copy.buffer), copy);
    return copy;
  };
  const binary: Record<string, unknown> = {
    notBytes: [1, 2, 3],
    short: bytes.subarray(0, 3),
    magic: patched((_, c) => (c[0] = 0)),
    version: patched((v) => v.setUint32(4, 7, true)),
    truncated: bytes.subarray(0, bytes.length - 8),
    trailing: Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]),
    rankHuge: patched((v) => v.setUint32(8, 1000, true)),
    extentZero: patched((v) => v.setUint32(16, 0, true)),
    countNaN: patched((v) => v.setFloat64(24, Number.NaN, true)),
    weightsNegative: patched((v) => v.setFloat64(32, -1, true)),
    meanInfinite: patched((v) => v.setFloat64(40, Infinity, true)),
    lowPart: patched((v) => v.setFloat64(72, 0.25, true)),
    m2Negative: patched((v) => v.setFloat64(104, -2, true)),
    cauchySchwarz: patched((v) => v.setFloat64(bytes.length - 8, 1e6, true)),
    headerOnly: bytes.subarray(0, 16),
  };
  for (const [name, input] of Object.entries(binary)) {
    out[`fromBytes/${name}`] = thrown(() => CorrelationAccumulator.fromBytes(input as Uint8Array));
  }
  out["fromBytes/expectedShape"] = thrown(() =>
    CorrelationAccumulator.fromBytes(bytes, { featureShape: [2, 1] })
  );
  out["fromBytes/maxElements"] = thrown(() =>
    CorrelationAccumulator.fromBytes(bytes, { maxElements: 2 })
  );
  out["fromBytes/unknown"] = encode(
    CorrelationAccumulator.fromBytes(new CorrelationAccumulator({ confounds: 2 }).toBytes())
      .toJSON(),
  );

  out["update/nan"] = thrown(() => acc.clone().update([[1, Number.NaN], [2, 2]], [[1, 2], [3, 3]]));
  out["update/shape"] = thrown(() => acc.clone().update([[1, 2, 3], [2, 2, 3]], [[1, 2], [3, 3]]));
  out["update/confounds"] = thrown(() => acc.clone().update([[1, 2], [2, 2]], [1, 2]));
  out["update/overflow"] = thrown(() =>
    acc.clone().update([[1e300, 0], [-1e300, 1]], [[1, 2], [2, 1]])
  );
  out["update/mergeUnderflow"] = thrown(() =>
    new CorrelationAccumulator().update([[1e-200]], [1]).update([[2e-200]], [2])
  );
  out["update/mergeOverflow"] = thrown(() =>
    new CorrelationAccumulator().update([[1e160], [1e160]], [1, 2]).update([[-1e160], [-1e160]], [
      1,
      3,
    ])
  );
  out["updateMoments/bad"] = thrown(() =>
    acc.clone().updateMoments({ ...acc.moments(), m2X: new Float64Array([-1, 1]) })
  );
  out["updateMoments/shape"] = thrown(() => acc.clone().updateMoments(acc.moments(), [3]));
  out["merge/shape"] = thrown(() =>
    acc.clone().merge(new CorrelationAccumulator().update([[1], [2]], [1, 2]))
  );
  out["merge/notAccumulator"] = thrown(() => acc.clone().merge({} as CorrelationAccumulator));
  out["correlations/empty"] = thrown(() => new CorrelationAccumulator().correlations());
  out["correlations/auto"] = thrown(() =>
    new CorrelationAccumulator().update([[1], [2]], [2, 1]).correlations({ tol: "auto" })
  );
  out["moments/unknown"] = thrown(() => new CorrelationAccumulator().moments());
  out["constructor/limit"] = thrown(() =>
    new CorrelationAccumulator({ featureShape: [10, 10], confounds: 2, maxElements: 100 })
  );
  out["constructor/unknown"] = thrown(() => new CorrelationAccumulator({ shape: [2] } as never));
  return out;
}

async function collect(results: AsyncIterable<BatchResult>): Promise<Encoded> {
  const encoded: Encoded[] = [];
  for await (const result of results) encoded.push(encode(result));
  return encoded;
}

async function streamSection(): Promise<Record<string, Encoded>> {
  const out: Record<string, Encoded> = {};
  const flat = [0, 1, 2, 3, 4].map((i) => makeBatch(700 + i, 3 + ((i * 5) % 7), [4], 2));
  const rank3 = [0, 1, 2, 3].map((i) => makeBatch(710 + i, 5 + i, [2, 3], 1));
  const offset = [0, 1, 2, 3].map((i) => makeBatch(720 + i, 16, [3], 1, { offsetColumns: [0] }));
  const constant = [0, 1, 2].map((i) =>
    makeBatch(730 + i, 6, [4], 3, { constantColumns: [1], constantConfounds: [2] })
  );
  const f32 = [0, 1, 2].map((i) => makeBatch(740 + i, 9, [5], 2, { float32: true }));
  const sets: Record<string, DenseBatch[]> = { flat, rank3, offset, constant, f32 };
  const configurations: Record<string, Record<string, unknown>> = {
    running: {},
    auto: { tol: "auto", abs: false },
    window2: { window: 2, tol: "auto" },
    window3: { window: 3, abs: false, scalarisation: "meansq" },
    decay: { decay: 0.5, tol: "auto" },
    decayOne: { decay: 1 },
    losses: { output: "losses", window: 2, scalarisation: vnorm(3) },
    gradient: { gradient: true, scalarisation: "meansq" },
    gradientBoth: { gradient: "both", tol: 0.1, abs: false, window: 2 },
    nan: { zeroVariance: "nan", decay: 0.8 },
  };
  const subset = ["window2", "decay", "losses", "gradientBoth"];
  for (const [setName, batches] of Object.entries(sets)) {
    for (const [name, options] of Object.entries(configurations)) {
      if (
        setName !== "flat" && !subset.includes(name) && !(setName === "constant" && name === "nan")
      ) continue;
      if ((setName === "f32" || setName === "constant") && name === "gradientBoth") continue;
      out[`${setName}/${name}`] = await collect(correlateBatches(batches, options));
    }
  }
  const transformed = ReadableStream.from(flat).pipeThrough(
    new BatchCorrStream({ window: 3, tol: "auto", highWaterMark: 2, output: "losses" }),
  );
  out.transform = await collect(transformed);

  const bad: unknown[] = [
    flat[0],
    { x: [[1, 2, 3, 4]], n: [[1], [2]] },
    flat[1],
    {
      x: flat[2]!.x,
      n: {
        data: new Float64Array(flat[2]!.n.data.length).fill(Number.NaN),
        shape: flat[2]!.n.shape,
      },
    },
    { x: [[1, 2, 3]], n: [[1], [2]] },
    "not a batch",
    { x: makeBatch(750, 2, [4], 2).x, n: makeBatch(750, 2, [4], 2).n },
    flat[3],
  ];
  out.skip = await collect(
    correlateBatches(bad as Batch[], { onInvalid: "skip", tol: "auto", window: 2 }),
  );
  out.skipDecay = await collect(
    correlateBatches(bad as Batch[], { onInvalid: "skip", decay: 0.7, output: "losses" }),
  );
  out.error = await rejected(() => collect(correlateBatches(bad as Batch[], { window: 2 })));
  out.errorLoss = await rejected(() =>
    collect(correlateBatches(flat, {
      scalarisation: () => {
        throw new RangeError("scalarisation failed");
      },
    }))
  );
  const accumulator = new CorrelationAccumulator().update(flat[0]!.x, flat[0]!.n);
  out.continued = await collect(correlateBatches(flat.slice(1), { accumulator, window: 2 }));
  out.continuedState = encode(accumulator.toJSON());

  const rows = Array.from(
    { length: 11 },
    (_, i) => ({ a: i * 0.5, b: (i * 7) % 5, c: i % 3 === 0 ? 1.25 : -0.5 }),
  );
  const fromRows: Encoded[] = [];
  for await (const batch of rowsToBatches(rows, { batchSize: 4, confounds: ["c"] })) {
    fromRows.push(encode(batch));
  }
  out.rowsToBatches = fromRows;
  out.rowsStream = await collect(
    correlateBatches(rowsToBatches(rows, { batchSize: 4, confounds: ["c"], partial: "drop" })),
  );
  return out;
}

function kernelSection(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  const cases: Record<string, DenseBatch> = {
    small: makeBatch(800, 7, [5], 3),
    single: makeBatch(801, 13, [9], 1),
    f32: makeBatch(802, 17, [11], 2, { float32: true }),
    // Past the wasm kernel's 512 KiB block: X goes in by column blocks.
    blocked: makeBatch(803, 4100, [17], 2),
    blockedF32: makeBatch(804, 4100, [33], 1, { float32: true }),
    offset: specialBatches().offset,
    constant: specialBatches().constant,
  };
  for (const [name, batch] of Object.entries(cases)) {
    const B = batch.x.shape[0]!;
    const F = batch.x.shape.slice(1).reduce((a, b) => a * b, 1);
    const M = batch.n.shape.length === 1 ? 1 : batch.n.shape[0]!;
    for (const kernel of ["typescript", "wasm-simd"] as MomentsKernel[]) {
      out[`${name}/${kernel}`] = encode(
        computeBatchMomentsWith(kernel, batch.x.data, batch.n.data, B, F, M),
      );
    }
    out[`${name}/fastFloat32`] = encode(
      computeBatchMomentsFloat32(batch.x.data, batch.n.data, B, F, M),
    );
  }
  return out;
}

function miscSection(): Record<string, Encoded> {
  const out: Record<string, Encoded> = {};
  const tolerances: Record<string, number> = {};
  for (
    const [B, sig] of [[3, 0.1], [5, 1e-6], [20, 0.1], [137, 0.05], [1_000_000, 0.1], [
      41,
      0.999,
    ]] as const
  ) {
    tolerances[`${B}/${sig}`] = autoTol(B, sig);
  }
  tolerances["10/0.1/1"] = autoTol(10, 0.1, 1);
  out.autoTol = encode(tolerances);
  out.onnxModel = encode(exportBatchCorrOnnx({ features: 3, confounds: 2 }));
  out.onnxModelSigned = encode(
    exportBatchCorrOnnx({ features: 1, confounds: 4, abs: false, zeroVariance: "nan" }),
  );
  const errors: Record<string, () => unknown> = {
    nanX: () => batchCorr([[1, Number.NaN], [2, 3]], [1, 2]),
    transposed: () => batchCorr([[1, 2], [2, 1], [3, 3]], [[1, 2], [3, 4], [5, 6]]),
    mismatch: () => batchCorr([[1], [2], [3]], [1, 2]),
    scalar: () => batchCorr({ data: [1], shape: [] } as TensorLike, [1]),
    empty: () => batchCorr({ data: [], shape: [0, 2] }, { data: [], shape: [0] }),
    autoSmall: () => batchCorr([[1], [2]], [1, 2], { tol: "auto" }),
    tolNegative: () => batchCorr([[1], [2]], [1, 2], { tol: -1 }),
    tolSig: () => batchCorr([[1], [2]], [1, 2], { tolSig: 1 }),
    unknownOption: () => batchCorr([[1], [2]], [1, 2], { tolerance: 1 } as never),
    limit: () =>
      batchCorr({ data: new Float64Array(20), shape: [2, 10] }, {
        data: new Float64Array(4),
        shape: [2, 2],
      }, { maxElements: 10 }),
    ragged: () => batchCorr([[1, 2], [3]] as never, [1, 2]),
    float32NaN: () =>
      batchCorrFloat32({ data: new Float32Array([1, Number.NaN, 2, 3]), shape: [2, 2] }, [1, 2]),
    qcfcNames: () => qcfc([[1], [2], [3]], [1, 2]),
    lossOption: () => new BatchCorrelationLoss({ nu: Infinity }),
    lossScalarisation: () => new BatchCorrelationLoss({ scalarisation: "median" as never }),
    gradCustom: () =>
      new BatchCorrelationLoss({ scalarisation: (v) => v[0]! }).valueAndGrad([[1], [2], [4]], [
        1,
        2,
        3,
      ]),
    gradWrt: () =>
      new BatchCorrelationLoss().valueAndGrad([[1], [2], [4]], [1, 2, 3], { wrt: "N" } as never),
    gradTiny: () => new BatchCorrelationLoss().valueAndGrad([[5e-324], [1e-323], [0]], [1, 2, 4]),
    windowDecay: () => correlateBatches([], { window: 2, decay: 0.5 }),
    streamSource: () => correlateBatches(5 as never),
    autoTolSmall: () => autoTol(2),
    vnormNaN: () => vnorm(Number.NaN),
    rows: () => rowsToBatches([], { batchSize: 0, confounds: ["c"] }),
  };
  for (const [name, run] of Object.entries(errors)) out[`error/${name}`] = thrown(run);
  return out;
}

async function onnxSection(): Promise<Record<string, Encoded>> {
  const out: Record<string, Encoded> = {};
  const backend = await createOnnxBackend({ provider: "wasm" });
  try {
    const cases: Record<string, DenseBatch> = {
      flat: makeBatch(900, 12, [4], 2),
      rank3: makeBatch(901, 9, [2, 3], 1, { vectorN: true }),
      constant: makeBatch(902, 8, [3], 2, { constantColumns: [1], constantConfounds: [1] }),
    };
    for (const [name, batch] of Object.entries(cases)) {
      const { provider: _provider, ...result } = await backend.run(batch.x, batch.n, {
        tol: "auto",
      });
      out[`run/${name}`] = encode(result);
      out[`run/${name}/tol0`] = encode(await backend.run(batch.x, batch.n));
    }
    const stream = [0, 1, 2].map((i) => makeBatch(910 + i, 10, [3], 2));
    out.stream = await collect(correlateBatches(stream, { backend, window: 2, tol: "auto" }));
    out.nan = await rejected(() => backend.run([[1, Number.NaN], [2, 2], [3, 1]], [1, 2, 3]));
  } finally {
    await backend.dispose();
  }
  return out;
}

/**
 * Every section's outputs.
 *
 * @returns The encoded outputs, by section and case.
 */
export async function computeGolden(): Promise<Record<string, Record<string, Encoded>>> {
  return {
    batchCorr: batchCorrSection(),
    batchCorrFloat32: float32Section(),
    loss: lossSection(),
    valueAndGrad: gradientSection(),
    accumulator: accumulatorSection(),
    stream: await streamSection(),
    kernels: kernelSection(),
    misc: miscSection(),
    onnx: await onnxSection(),
  };
}

/** Which engine family runs: values such as `x ** 3` may differ in the last bit between them. */
export function engine(): "v8" | "jsc" {
  return typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? "v8" : "jsc";
}

/**
 * The stored outputs for this engine: the shared ones, with the leaves that
 * differ between engines replaced by this engine's values.
 *
 * @param stored The fixture's contents.
 * @returns The outputs to compare with.
 */
export function storedFor(stored: GoldenFile): Record<string, unknown> {
  const tree = structuredClone(stored.golden) as Record<string, unknown>;
  for (const [path, value] of stored.engines[engine()]) {
    let node = tree as Record<string, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
    node[path.at(-1)!] = value;
  }
  return tree;
}

/** The fixture: shared outputs, and per engine the leaves whose bits differ between engines. */
export interface GoldenFile {
  /** What the file holds. */
  description: string;
  /** Outputs identical in every engine (engine-specific leaves hold "s:engine-specific"). */
  golden: Record<string, Record<string, Encoded>>;
  /** Per engine, `[path, value]` of each engine-specific leaf. */
  engines: Record<"v8" | "jsc", [string[], Encoded][]>;
}

/**
 * Merges the outputs of two engines into a {@linkcode GoldenFile}.
 *
 * @param v8 The outputs under V8 (Deno).
 * @param jsc The outputs under JavaScriptCore (Bun).
 * @returns The fixture.
 */
export function mergeEngines(
  v8: Record<string, Record<string, Encoded>>,
  jsc: Record<string, Record<string, Encoded>>,
): GoldenFile {
  const file: GoldenFile = {
    description:
      "float64 bit patterns of library outputs; see tests/golden/golden_library_cases.ts and scripts/gen_golden.ts",
    golden: structuredClone(v8),
    engines: { v8: [], jsc: [] },
  };
  const walk = (a: unknown, b: unknown, path: string[]): void => {
    const bothObjects = typeof a === "object" && a !== null && typeof b === "object" &&
      b !== null &&
      Array.isArray(a) === Array.isArray(b);
    if (bothObjects) {
      const keys = Object.keys(a as object);
      if (
        keys.length === Object.keys(b as object).length && keys.every((k) => k in (b as object))
      ) {
        for (const key of keys) {
          walk((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [
            ...path,
            key,
          ]);
        }
        return;
      }
    }
    if (JSON.stringify(a) === JSON.stringify(b)) return;
    file.engines.v8.push([path, a as Encoded]);
    file.engines.jsc.push([path, b as Encoded]);
    let node = file.golden as Record<string, unknown>;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
    node[path.at(-1)!] = "s:engine-specific";
  };
  walk(v8, jsc, []);
  return file;
}

/**
 * The paths at which two encoded outputs differ.
 *
 * @param expected The stored outputs.
 * @param actual The recomputed outputs.
 * @param path Where in the tree the comparison is.
 * @returns One line per difference.
 */
export function differences(expected: unknown, actual: unknown, path = ""): string[] {
  if (
    typeof expected !== "object" || expected === null || typeof actual !== "object" ||
    actual === null
  ) {
    return Object.is(expected, actual)
      ? []
      : [`${path}: stored ${shorten(expected)}, now ${shorten(actual)}`];
  }
  if (Array.isArray(expected) !== Array.isArray(actual)) return [`${path}: array vs object`];
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  const found: string[] = [];
  for (const key of keys) {
    found.push(
      ...differences(
        (expected as Record<string, unknown>)[key],
        (actual as Record<string, unknown>)[key],
        `${path}/${key}`,
      ),
    );
  }
  return found;
}

function shorten(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}
