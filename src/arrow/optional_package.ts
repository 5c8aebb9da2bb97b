/**
 * Loading an optional peer package on first use, with an error that names the
 * package and the command that installs it when it is missing.
 *
 * @module
 */

import { BatchCorrError } from "../core/errors.ts";

/** An optional peer package: what it is called, the versions supported, what it enables. */
export interface OptionalPackage {
  /** The npm name, e.g. `"apache-arrow"`. */
  readonly name: string;
  /** The supported semver range, e.g. `"^21.0.0"`. */
  readonly range: string;
  /** What needs it, as the verb phrase of a message ("read Arrow IPC"). */
  readonly feature: string;
}

/** The install commands for a package, one per tool. */
export interface InstallCommands {
  /** For Deno. */
  readonly deno: string;
  /** For Bun. */
  readonly bun: string;
  /** For npm (Node.js). */
  readonly npm: string;
}

/**
 * The commands that install an optional package in each runtime.
 *
 * @param pkg The package.
 * @returns `deno add npm:X@range`, `bun add X@range` and `npm install X@range`.
 */
export function installCommands(pkg: OptionalPackage): InstallCommands {
  const spec = `${pkg.name}@${pkg.range}`;
  return { deno: `deno add npm:${spec}`, bun: `bun add ${spec}`, npm: `npm install ${spec}` };
}

/** Whether an import failure means "not installed" rather than "installed but broken". */
function isNotFound(error: unknown): boolean {
  const text = `${(error as { code?: unknown })?.code ?? ""} ${
    error instanceof Error ? error.message : String(error)
  }`;
  return /not found|cannot find|could not find|ERR_MODULE_NOT_FOUND|unable to resolve|failed to resolve|import map/i
    .test(text);
}

/**
 * The error for an optional package that could not be imported.
 *
 * @param pkg The package.
 * @param cause What the import threw.
 * @param details More facts for `details` (a provider name, say).
 * @returns A `BatchCorrError` with code `"provider_unavailable"` whose message
 * names the package and the install commands, and whose `details` hold
 * `package`, `range`, `install` (the commands) and `reason`.
 */
export function missingPackageError(
  pkg: OptionalPackage,
  cause: unknown,
  details: Readonly<Record<string, unknown>> = {},
): BatchCorrError {
  const install = installCommands(pkg);
  const reason = cause instanceof Error ? cause.message : String(cause);
  const state = isNotFound(cause) ? "not installed" : "installed but could not be loaded";
  return new BatchCorrError(
    "provider_unavailable",
    `Cannot ${pkg.feature} as the optional package ${pkg.name} (${pkg.range}) must be installed: ` +
      `current value is ${state} (${reason}); add it with "${install.deno}" (Deno), "${install.bun}" (Bun) ` +
      `or "${install.npm}" (Node.js)`,
    {
      cause,
      details: {
        ...details,
        package: pkg.name,
        range: pkg.range,
        install,
        reason: `${pkg.name} is ${state}`,
      },
    },
  );
}

/**
 * Imports an optional package once, caching the module; a failed import is
 * not cached, so installing the package and calling again works.
 *
 * @param pkg The package.
 * @param importer The dynamic `import()` of it (a literal specifier, so that
 * Deno and bundlers can see it).
 * @returns A loader that resolves to the module.
 * @throws {BatchCorrError} From the loader, `"provider_unavailable"`, naming
 * the package and its install commands, when the import fails.
 */
export function optionalPackageLoader<T>(
  pkg: OptionalPackage,
  importer: () => Promise<T>,
): () => Promise<T> {
  let loaded: T | undefined;
  return async () => {
    if (loaded !== undefined) return loaded;
    try {
      loaded = await importer();
    } catch (error) {
      throw missingPackageError(pkg, error);
    }
    return loaded;
  };
}
