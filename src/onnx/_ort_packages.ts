/**
 * The two ONNX Runtime packages, optional peers loaded on first use through
 * the library's one optional-package mechanism (`src/core/optional_package.ts`),
 * and what `"auto"` found of them.
 *
 * @module
 */

import {
  currentRuntime,
  installCommands,
  loadOptionalPackage,
  missingPackageError,
  type OptionalPackage,
} from "../core/optional_package.ts";
import type { BatchCorrError } from "../core/errors.ts";
import type { OnnxPackageStatus } from "./onnx_backend.ts";
import type { OrtModule } from "./_runtime.ts";

/** The native package: providers `cpu`, `cuda`, `webgpu-native`. */
export const ONNXRUNTIME_NODE = "onnxruntime-node";
/** The WebAssembly/WebGPU package: providers `wasm`, `webgpu`. */
export const ONNXRUNTIME_WEB = "onnxruntime-web";

/** The supported range of both (package.json's peerDependencies). */
const RANGE = "^1.30.0";

/** The package a provider needs, for its messages. */
export function ortPackage(name: string, provider: string): OptionalPackage {
  return { name, range: RANGE, feature: `use the ONNX Runtime provider "${provider}"` };
}

/** An ONNX Runtime module with its `env` (every package re-exports onnxruntime-common's). */
export interface OrtPackageModule extends OrtModule {
  readonly env:
    & { readonly versions?: Readonly<Record<string, string | undefined>> }
    & Record<
      string,
      unknown
    >;
}

const lacksOrt = (module: unknown): string | undefined => {
  const m = module as Partial<OrtPackageModule> | null;
  return typeof m?.InferenceSession?.create === "function" && typeof m.Tensor === "function"
    ? undefined
    : "InferenceSession and Tensor";
};

type Importer = () => Promise<unknown>;

const IMPORTERS: Record<string, Importer> = {
  [ONNXRUNTIME_NODE]: () => import("onnxruntime-node"),
  [ONNXRUNTIME_WEB]: () => import("onnxruntime-web"),
  "onnxruntime-web/webgpu": () => import("onnxruntime-web/webgpu"),
};

let overrides: Partial<Record<string, Importer>> = {};

/**
 * Replaces how the packages are imported (tests simulate a missing one).
 *
 * @param replacement Importers by specifier, or undefined for the real imports.
 */
export function setOrtImporters(replacement: Partial<Record<string, Importer>> | undefined): void {
  overrides = replacement ?? {};
  cache.clear();
}

const cache = new Map<string, Promise<OrtPackageModule>>();

/**
 * Imports an ONNX Runtime package (or `onnxruntime-web/webgpu`) once; a
 * failure is not cached.
 *
 * @param specifier `"onnxruntime-node"`, `"onnxruntime-web"` or `"onnxruntime-web/webgpu"`.
 * @param provider The provider asking, for the message.
 * @returns The module.
 * @throws {BatchCorrError} `"peer_missing"` naming the package, the provider and the install commands.
 */
export function loadOrtPackage(specifier: string, provider: string): Promise<OrtPackageModule> {
  let pending = cache.get(specifier);
  if (pending === undefined) {
    const name = specifier.startsWith(ONNXRUNTIME_WEB) ? ONNXRUNTIME_WEB : ONNXRUNTIME_NODE;
    const importer = overrides[specifier] ?? IMPORTERS[specifier]!;
    pending = loadOptionalPackage(
      ortPackage(name, provider),
      importer as () => Promise<OrtPackageModule>,
      lacksOrt,
      { provider },
    );
    cache.set(specifier, pending);
    pending.catch(() => cache.delete(specifier));
  }
  return pending;
}

/**
 * The version a loaded package reports (`env.versions.node` or `.web`).
 *
 * @param module The module.
 * @param name Its package name.
 * @returns The version, or "unknown version".
 */
export function versionOf(module: OrtPackageModule, name: string): string {
  const versions = module.env?.versions ?? {};
  return versions[name === ONNXRUNTIME_NODE ? "node" : "web"] ?? versions.common ??
    "unknown version";
}

/**
 * Tries to import both packages, for `"auto"`: what was found, and the first
 * import failure (the cause of the error when neither loads).
 *
 * @returns One status per package, node first, and the first failure.
 */
export async function probeOrtPackages(): Promise<
  { packages: OnnxPackageStatus[]; firstError: BatchCorrError | undefined }
> {
  const names = [ONNXRUNTIME_NODE, ONNXRUNTIME_WEB];
  const settled = await Promise.allSettled(names.map((name) => loadOrtPackage(name, "auto")));
  let firstError: BatchCorrError | undefined;
  const packages = settled.map((outcome, i): OnnxPackageStatus => {
    const name = names[i]!;
    if (outcome.status === "fulfilled") {
      return { name, version: versionOf(outcome.value, name), reason: undefined };
    }
    const error = outcome.reason as BatchCorrError;
    firstError ??= error;
    return { name, version: undefined, reason: String(error.details?.reason ?? error.message) };
  });
  return { packages, firstError };
}

/**
 * "found onnxruntime-node 1.30.0; onnxruntime-web not installed (bun add
 * onnxruntime-web@^1.30.0)": the packages as a sentence, with the install
 * command of the runtime running this code.
 *
 * @param packages The statuses.
 * @returns The text.
 */
export function describePackages(packages: readonly OnnxPackageStatus[]): string {
  const runtime = currentRuntime();
  return packages.map((p) => {
    if (p.version !== undefined) return `found ${p.name} ${p.version}`;
    const command = installCommands(ortPackage(p.name, "auto"))[runtime];
    const state = /installed but/.test(p.reason ?? "")
      ? "installed but not loadable"
      : "not installed";
    return `${p.name} ${state} (${command})`;
  }).join("; ");
}

/**
 * The error of `"auto"` when neither package could be loaded.
 *
 * @param cause The first import failure.
 * @returns A `"peer_missing"` error naming both packages.
 */
export function noOrtPackageError(cause: unknown): BatchCorrError {
  return missingPackageError(
    [ONNXRUNTIME_NODE, ONNXRUNTIME_WEB].map((name) => ({
      ...ortPackage(name, "auto"),
      feature: 'create the ONNX backend with provider "auto" (either package will do)',
    })),
    cause,
    { provider: "auto" },
  );
}
