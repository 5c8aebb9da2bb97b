/**
 * The narrow slice of ONNX Runtime's JS API the backend uses, shared by
 * `onnxruntime-web` and `onnxruntime-node` (both re-export
 * `onnxruntime-common`), so one backend class drives every provider.
 *
 * @module
 */

import type { OnnxProvider } from "./onnx_backend.ts";

/** A provider that runs sessions (everything but `"auto"`). */
export type ConcreteOnnxProvider = Exclude<OnnxProvider, "auto">;

/** An output tensor as read back on the CPU. */
export interface OrtOutput {
  readonly data: unknown;
  readonly dims: readonly number[];
  dispose?(): void;
}

/** An inference session of one model. */
export interface OrtSession {
  run(
    feeds: Record<string, unknown>,
    fetches?: readonly string[],
  ): Promise<Record<string, OrtOutput>>;
  release(): Promise<void>;
}

/** A loaded ONNX Runtime bound to one provider. */
export interface OrtRuntime {
  /** The provider sessions run on. */
  readonly provider: ConcreteOnnxProvider;
  /** Creates a session for a serialised model. */
  createSession(model: Uint8Array): Promise<OrtSession>;
  /** Wraps float32 data as an input tensor. */
  tensor(data: Float32Array, dims: readonly number[]): unknown;
}

/** The constructor and session factory every ONNX Runtime package exports. */
export interface OrtModule {
  readonly InferenceSession: {
    create(model: Uint8Array, options?: Record<string, unknown>): Promise<OrtSession>;
  };
  readonly Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => unknown;
}

/** Severity 3 (errors only): ORT's warnings are not actionable for users of this graph. */
export const SESSION_LOG_SEVERITY = 3;

/**
 * Builds an {@linkcode OrtRuntime} over a loaded module.
 *
 * @param ort The ONNX Runtime module.
 * @param provider The provider name used in results.
 * @param sessionOptions Options of every session (execution providers…).
 * @returns The runtime.
 */
export function runtimeOf(
  ort: OrtModule,
  provider: ConcreteOnnxProvider,
  sessionOptions: Record<string, unknown>,
): OrtRuntime {
  return {
    provider,
    createSession: (model) =>
      ort.InferenceSession.create(model, {
        logSeverityLevel: SESSION_LOG_SEVERITY,
        ...sessionOptions,
      }),
    tensor: (data, dims) => new ort.Tensor("float32", data, dims),
  };
}

/** A message for anything thrown, for error texts. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Settles with the promise, or rejects after `ms` milliseconds, clearing its
 * timer either way so nothing keeps the process alive.
 *
 * @param promise The work.
 * @param ms The limit.
 * @param what What is awaited, for the message.
 * @returns The promise's value.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
