/**
 * The text fields of a batch envelope's header: the id and the metadata,
 * checked and encoded as UTF-8, and the metadata parsed back.
 *
 * @module
 */

import { ruleMessage } from "../core/errors.ts";
import { MAX_ID_BYTES, MAX_META_BYTES } from "./_envelope_layout.ts";

const encoder = new TextEncoder();

export function encodeId(id: unknown, context: string): Uint8Array {
  if (typeof id !== "string" || id.length === 0) {
    throw new TypeError(ruleMessage(context, "batch.id", "a non-empty string", id));
  }
  const bytes = encoder.encode(id);
  if (bytes.length > MAX_ID_BYTES) {
    throw new TypeError(
      ruleMessage(
        context,
        "batch.id",
        `at most ${MAX_ID_BYTES} UTF-8 bytes`,
        `${bytes.length} bytes`,
      ),
    );
  }
  return bytes;
}

export function encodeMeta(meta: unknown, context: string): Uint8Array {
  const rule = "a plain object whose values are strings, finite numbers, booleans or null";
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    throw new TypeError(ruleMessage(context, "batch.meta", rule, meta));
  }
  for (const [key, value] of Object.entries(meta)) {
    const scalar = value === null || typeof value === "string" || typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value));
    if (!scalar || key === "__proto__") {
      throw new TypeError(ruleMessage(context, `batch.meta.${key}`, rule, value));
    }
  }
  const bytes = encoder.encode(JSON.stringify(meta));
  if (bytes.length > MAX_META_BYTES) {
    throw new RangeError(
      ruleMessage(
        context,
        "batch.meta",
        `at most ${MAX_META_BYTES} bytes as JSON`,
        `${bytes.length} bytes`,
      ),
    );
  }
  return bytes;
}

export function parseMeta(
  text: string,
  invalid: (subject: string, rule: string, value: unknown) => Error,
): Readonly<Record<string, string | number | boolean | null>> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("the metadata", "JSON text", text.slice(0, 40));
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalid("the metadata", "a JSON object", parsed);
  }
  const meta: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (key === "__proto__" || (typeof value === "object" && value !== null)) {
      throw invalid(`metadata key ${JSON.stringify(key)}`, "a scalar (not __proto__)", value);
    }
    meta[key] = value as string | number | boolean | null;
  }
  return Object.freeze(meta);
}
