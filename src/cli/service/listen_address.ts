/**
 * The `HOST:PORT` value of `monitor --metrics`, parsed and checked before
 * anything listens on it.
 *
 * @module
 */

import { isIP } from "node:net";
import { describeValue } from "./_deps.ts";

/** Where the metrics server listens. */
export interface ListenAddress {
  /** An IPv4 or IPv6 literal (without brackets) or a host name. */
  host: string;
  /** 0 to 65535; 0 asks the system for a free port. */
  port: number;
}

/** Options of {@linkcode parseListenAddress}. */
export interface ParseListenAddressOptions {
  /**
   * The host used when the text gives only a port (`9464` or `:9464`).
   * @default {"127.0.0.1"}
   */
  defaultHost?: string;
}

/** The result of {@linkcode safeParseListenAddress}. */
export type SafeListenAddressResult =
  | { success: true; data: ListenAddress }
  | { success: false; error: TypeError | RangeError };

/** The default host: loopback only, so that nothing is exposed by accident. */
export const DEFAULT_METRICS_HOST = "127.0.0.1";

const CONTEXT = "listen for metrics";
const HOST_RULE =
  "an IPv4 address, a bracketed IPv6 address or a host name (letters, digits, hyphens and dots)";
const PORT_RULE = "an integer from 0 to 65535 (0: any free port)";
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/**
 * Whether `host` can be listened on by name: an IP literal, or a host name by
 * RFC 1123 whose last label is not all digits (so that `999.1.1.1` is refused
 * as a bad IPv4 address rather than looked up).
 *
 * @param host The host, without brackets.
 * @returns True when it is well formed.
 */
export function isListenHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (host.length === 0 || host.length > 253) return false;
  const labels = (host.endsWith(".") ? host.slice(0, -1) : host).split(".");
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(labels[labels.length - 1]!);
}

/**
 * Formats an address as `host:port`, bracketing IPv6 literals (`[::1]:9464`),
 * as URLs and messages need.
 *
 * @param address The address.
 * @returns The text.
 *
 * @example IPv4 and IPv6
 * ```ts
 * import { formatListenAddress } from "./listen_address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatListenAddress({ host: "127.0.0.1", port: 9464 }), "127.0.0.1:9464");
 * assert.equal(formatListenAddress({ host: "::1", port: 9464 }), "[::1]:9464");
 * ```
 */
export function formatListenAddress(address: ListenAddress): string {
  return `${isIP(address.host) === 6 ? `[${address.host}]` : address.host}:${address.port}`;
}

function hostError(text: string, host: string): RangeError {
  return new RangeError(
    `Cannot ${CONTEXT} as the host of ${
      describeValue(text)
    } must be ${HOST_RULE}: current value is ${describeValue(host)}`,
  );
}

function portError(text: string, port: string): RangeError {
  return new RangeError(
    `Cannot ${CONTEXT} as the port of ${
      describeValue(text)
    } must be ${PORT_RULE}: current value is ${describeValue(port)}`,
  );
}

function splitHostPort(text: string, defaultHost: string): [string, string] | RangeError {
  if (/^\d+$/.test(text)) return [defaultHost, text];
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close === -1 || text[close + 1] !== ":") {
      return new RangeError(
        `Cannot ${CONTEXT} as ${
          describeValue(text)
        } must be HOST:PORT with an IPv6 host in brackets ([::1]:9464): current value has no "]:" after the host`,
      );
    }
    const host = text.slice(1, close);
    return isIP(host) === 6 ? [host, text.slice(close + 2)] : hostError(text, host);
  }
  const colon = text.lastIndexOf(":");
  if (colon === -1) {
    return new RangeError(
      `Cannot ${CONTEXT} as ${
        describeValue(text)
      } must be HOST:PORT, :PORT or PORT (for example 127.0.0.1:9464): current value has no port`,
    );
  }
  const host = text.slice(0, colon);
  if (host.includes(":")) {
    return new RangeError(
      `Cannot ${CONTEXT} as the IPv6 host of ${
        describeValue(text)
      } must be in brackets ([::1]:9464): current value is ${describeValue(host)}`,
    );
  }
  return [host.length === 0 ? defaultHost : host, text.slice(colon + 1)];
}

function parseCore(
  text: unknown,
  options: ParseListenAddressOptions | undefined,
): SafeListenAddressResult {
  if (typeof text !== "string") {
    return {
      success: false,
      error: new TypeError(
        `Cannot ${CONTEXT} as the address must be a string HOST:PORT: current value is ${
          describeValue(text)
        }`,
      ),
    };
  }
  const defaultHost = options?.defaultHost ?? DEFAULT_METRICS_HOST;
  const parts = splitHostPort(text.trim(), defaultHost);
  if (parts instanceof Error) return { success: false, error: parts };
  const [host, portText] = parts;
  if (!isListenHost(host)) return { success: false, error: hostError(text, host) };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65535)) return { success: false, error: portError(text, portText) };
  return { success: true, data: { host, port } };
}

/**
 * Parses `HOST:PORT`, `:PORT` or `PORT` (host `127.0.0.1` unless
 * `options.defaultHost` says otherwise); IPv6 hosts go in brackets
 * (`[::1]:9464`). The host must be an IP literal or a well-formed host name;
 * whether it is an address of this machine is only known when listening.
 *
 * @param text The flag's value.
 * @param options The default host.
 * @returns The host and port.
 * @throws {TypeError} If `text` is not a string.
 * @throws {RangeError} If the host is not an address or host name, the port
 * is missing or not an integer in [0, 65535].
 *
 * @example The forms accepted
 * ```ts
 * import { parseListenAddress } from "./listen_address.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseListenAddress("9464"), { host: "127.0.0.1", port: 9464 });
 * assert.deepEqual(parseListenAddress("0.0.0.0:9464"), { host: "0.0.0.0", port: 9464 });
 * assert.deepEqual(parseListenAddress("[::1]:0"), { host: "::1", port: 0 });
 * assert.throws(() => parseListenAddress("not a host:9464"), RangeError);
 * ```
 */
export function parseListenAddress(
  text: string,
  options?: ParseListenAddressOptions,
): ListenAddress {
  const result = parseCore(text, options);
  if (result.success) return result.data;
  throw result.error;
}

/**
 * The non-throwing twin of {@linkcode parseListenAddress}, for untrusted text.
 *
 * @param text The flag's value.
 * @param options The default host.
 * @returns `{ success: true, data }` or `{ success: false, error }`.
 *
 * @example A bad port
 * ```ts
 * import { safeParseListenAddress } from "./listen_address.ts";
 * import assert from "node:assert/strict";
 *
 * const result = safeParseListenAddress("127.0.0.1:70000");
 * assert.equal(result.success, false);
 * ```
 */
export function safeParseListenAddress(
  text: unknown,
  options?: ParseListenAddressOptions,
): SafeListenAddressResult {
  return parseCore(text, options);
}
