/**
 * `apache-arrow`, imported on first use.
 *
 * @module
 */

import { type OptionalPackage, optionalPackageLoader } from "../core/optional_package.ts";

/** The apache-arrow module. */
export type ArrowModule = typeof import("apache-arrow");

/** The package the Arrow readers and writer need. */
export const APACHE_ARROW: OptionalPackage = {
  name: "apache-arrow",
  range: "^21.0.0",
  feature: "use Arrow IPC",
};

/**
 * Loads apache-arrow (once).
 *
 * @returns The module.
 * @throws {BatchCorrError} `"peer_missing"` naming the package and the install commands when it is missing.
 */
export const loadArrow: () => Promise<ArrowModule> = optionalPackageLoader(
  APACHE_ARROW,
  () => import("apache-arrow"),
);
