/**
 * The one mechanism for the optional peer packages (ONNX Runtime,
 * TensorFlow.js, ioredis, the NATS client, apache-arrow, hyparquet): import
 * on first use, and when the import fails, one error code,
 * `"peer_missing"`, with a message that names the package, says whether it
 * is missing or present but broken, and gives the command that installs it
 * in Deno, Bun and Node.js.
 *
 * @module
 */

import { BatchCorrError } from "./errors.ts";

/** The error code of every missing (or unloadable) optional package. */
export const PEER_MISSING = "peer_missing" as const;

/** An optional peer package: what it is called, the versions supported, what it enables. */
export interface OptionalPackage {
  /** The npm name, e.g. `"apache-arrow"`. */
  readonly name: string;
  /** The supported semver range, e.g. `"^21.0.0"` (as package.json's peerDependencies). */
  readonly range: string;
  /** What needs it, as the verb phrase of a message ("read Arrow IPC"). */
  readonly feature: string;
}

/** The install commands for one or more packages, one per tool. */
export interface InstallCommands {
  /** For Deno: `deno add npm:X@range`. */
  readonly deno: string;
  /** For Bun: `bun add X@range`. */
  readonly bun: string;
  /** For npm (Node.js): `npm install X@range`. */
  readonly npm: string;
}

/** The JavaScript runtime this code runs in, for the one install command that fits it. */
export type JsRuntime = "deno" | "bun" | "npm";

/**
 * The runtime running this code: Deno, Bun, or anything else (Node.js: npm).
 *
 * @returns `"deno"`, `"bun"` or `"npm"`.
 */
export function currentRuntime(): JsRuntime {
  const global = globalThis as { Deno?: unknown; Bun?: unknown };
  if (global.Bun !== undefined) return "bun";
  if (global.Deno !== undefined) return "deno";
  return "npm";
}

function asList(
  packages: OptionalPackage | readonly OptionalPackage[],
): readonly OptionalPackage[] {
  return Array.isArray(packages) ? packages : [packages as OptionalPackage];
}

/**
 * The commands that install one or more optional packages in each runtime.
 *
 * @param packages The package, or several installed together.
 * @returns `deno add npm:X@range …`, `bun add X@range …` and `npm install X@range …`.
 */
export function installCommands(
  packages: OptionalPackage | readonly OptionalPackage[],
): InstallCommands {
  const specs = asList(packages).map((pkg) => `${pkg.name}@${pkg.range}`);
  return {
    deno: `deno add ${specs.map((spec) => `npm:${spec}`).join(" ")}`,
    bun: `bun add ${specs.join(" ")}`,
    npm: `npm install ${specs.join(" ")}`,
  };
}

/** Whether an import failure means "not installed" rather than "installed but broken". */
export function isNotInstalled(error: unknown): boolean {
  const text = `${(error as { code?: unknown })?.code ?? ""} ${
    error instanceof Error ? error.message : String(error)
  }`;
  return /not found|cannot find|could not find|ERR_MODULE_NOT_FOUND|unable to resolve|failed to resolve|import map/i
    .test(text);
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function names(list: readonly OptionalPackage[]): string {
  return list.map((pkg) => `${pkg.name} (${pkg.range})`).join(", ");
}

/**
 * The error for optional packages that could not be imported.
 *
 * @param packages The package, or the packages the feature needs together.
 * @param cause What the import threw.
 * @param details More facts for `details` (a provider name, say).
 * @returns A `BatchCorrError` with code `"peer_missing"` whose message names
 * the package and the install commands, and whose `details` hold `package`
 * (the first name), `packages` (every name), `range`, `install` (the
 * commands), `installed` (false when not found, true when present but
 * broken) and `reason`.
 */
export function missingPackageError(
  packages: OptionalPackage | readonly OptionalPackage[],
  cause: unknown,
  details: Readonly<Record<string, unknown>> = {},
): BatchCorrError {
  const list = asList(packages);
  const first = list[0]!;
  const install = installCommands(list);
  const installed = !isNotInstalled(cause);
  const state = installed ? "installed but could not be loaded" : "not installed";
  const which = list.length === 1
    ? `the optional package ${names(list)}`
    : `the optional packages ${names(list)}`;
  const verb = list.length === 1 ? "add it" : "add them";
  return new BatchCorrError(
    PEER_MISSING,
    `Cannot ${first.feature} as ${which} must be installed: current value is ${state} (${
      reasonOf(cause)
    }); ${verb} with "${install.deno}" (Deno), "${install.bun}" (Bun) or "${install.npm}" (Node.js)`,
    {
      cause,
      details: {
        ...details,
        package: first.name,
        packages: list.map((pkg) => pkg.name),
        range: first.range,
        install,
        installed,
        reason: `${list.map((pkg) => pkg.name).join(", ")} ${
          list.length === 1 ? "is" : "are"
        } ${state}`,
      },
    },
  );
}

/**
 * Checks that an imported module is the package expected: returns what it
 * lacks ("the Redis class"), or undefined when it is fine.
 */
export type ModuleCheck = (module: unknown) => string | undefined;

/**
 * Imports an optional package (no caching), turning a failed import, or a
 * module that fails `check`, into the `"peer_missing"` error.
 *
 * @param packages The package, or the packages imported together.
 * @param importer The dynamic `import()` (a literal specifier, so that Deno
 * and bundlers can see it).
 * @param check What the module must export; by default anything.
 * @param details More facts for the error's `details`.
 * @returns The module.
 * @throws {BatchCorrError} `"peer_missing"`, naming the package and its install commands.
 */
export async function loadOptionalPackage<T>(
  packages: OptionalPackage | readonly OptionalPackage[],
  importer: () => Promise<T>,
  check?: ModuleCheck,
  details: Readonly<Record<string, unknown>> = {},
): Promise<T> {
  let module: T;
  try {
    module = await importer();
  } catch (error) {
    throw missingPackageError(packages, error, details);
  }
  const lacking = check?.(module);
  if (lacking !== undefined) {
    const first = asList(packages)[0]!;
    throw missingPackageError(
      packages,
      new TypeError(`the module ${first.name} must export ${lacking}: current module does not`),
      details,
    );
  }
  return module;
}

/**
 * Imports an optional package once, caching the module; a failed import is
 * not cached, so installing the package and calling again works.
 *
 * @param packages The package, or the packages imported together.
 * @param importer The dynamic `import()` of it.
 * @param check What the module must export; by default anything.
 * @returns A loader that resolves to the module.
 * @throws {BatchCorrError} From the loader, `"peer_missing"`, naming the
 * package and its install commands, when the import fails.
 */
export function optionalPackageLoader<T>(
  packages: OptionalPackage | readonly OptionalPackage[],
  importer: () => Promise<T>,
  check?: ModuleCheck,
): () => Promise<T> {
  let loaded: T | undefined;
  return async () => {
    if (loaded !== undefined) return loaded;
    loaded = await loadOptionalPackage(packages, importer, check);
    return loaded;
  };
}
