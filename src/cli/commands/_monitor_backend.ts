/**
 * The `--provider` backend of a monitor run: ONNX Runtime for each batch's
 * moments, with the provider that runs said on stderr.
 *
 * @module
 */

import type { OnnxBackend } from "../../onnx/onnx_backend.ts";
import type { CliIo } from "../cli_io.ts";
import type { MonitorArgs } from "./monitor_args.ts";

/**
 * Creates the --provider backend and says on stderr which provider runs (stdout stays data only).
 *
 * @param args The flags (--provider, --abs).
 * @param io Where the provider is named.
 * @returns The backend, or undefined without --provider.
 * @throws {BatchCorrError} `provider_unavailable` or `peer_missing`.
 */
export async function openMonitorBackend(
  args: Pick<MonitorArgs, "provider" | "abs">,
  io: CliIo,
): Promise<OnnxBackend | undefined> {
  if (args.provider === undefined) return undefined;
  // Loaded only with --provider, as are the ONNX Runtime packages themselves.
  const { createOnnxBackend } = await import("../../onnx/create_onnx_backend.ts");
  // zeroVariance "zero" is what the monitor's stream uses (its default); abs follows --abs/--no-abs.
  const backend = await createOnnxBackend({
    provider: args.provider,
    abs: args.abs,
    zeroVariance: "zero",
  });
  const chosen = args.provider === "auto"
    ? `--provider auto took "${backend.provider}"`
    : `provider "${backend.provider}"`;
  const fallback = backend.fallbackReason === undefined
    ? ""
    : ` (skipped: ${backend.fallbackReason})`;
  io.stderr.write(`batch-corr: batch moments on ONNX Runtime, ${chosen}${fallback}\n`);
  return backend;
}
