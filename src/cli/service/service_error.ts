/**
 * The error of the monitor service's own conditions: an address that cannot
 * be listened on, a missing optional package.
 *
 * @module
 */

/** Machine-readable codes carried by {@linkcode ServiceError}. */
export type ServiceErrorCode =
  | "address_in_use"
  | "address_unavailable"
  | "permission_denied"
  | "listen_failed"
  | "dependency_missing"
  | "unsupported_runtime";

/**
 * Raised when the metrics server cannot start: the port is taken, the host is
 * not an address of this machine, a privileged port, or `prom-client` is not
 * installed. The CLI maps it to exit code 2 with its message. Wrong types and
 * values of options throw `TypeError` / `RangeError` instead.
 *
 * @example Telling a taken port from other failures
 * ```ts
 * import { ServiceError } from "./service_error.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new ServiceError("address_in_use", "Cannot serve metrics as 127.0.0.1:9464 must be free: current value is in use", {
 *   details: { host: "127.0.0.1", port: 9464 },
 * });
 * assert.equal(error.code, "address_in_use");
 * assert.equal(error.details.port, 9464);
 * ```
 */
export class ServiceError extends Error {
  /** What kind of condition this is. */
  readonly code: ServiceErrorCode;
  /** Extra facts (the host and port, the package name). */
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * Creates the error.
   *
   * @param code What kind of condition this is.
   * @param message What was wrong, the rule, and the value seen.
   * @param options The underlying `cause` and any extra `details`.
   */
  constructor(
    code: ServiceErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ServiceError";
    this.code = code;
    this.details = Object.freeze({ ...options.details });
  }
}
