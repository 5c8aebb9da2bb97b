/**
 * Rule texts of the NATS roles' options, for messages.
 *
 * @module
 */

/** Rule texts. */
export const NATS_RULES: Record<string, string> = {
  nats: 'a "nats://host:port" URL',
  stream: "a stream name (A–Z a–z 0–9 _ -)",
  group: "a group name (A–Z a–z 0–9 _ -)",
  partitions: "an integer in [1, 256]",
  ackWaitMs: "an integer of milliseconds ≥ 100",
  untilIdleMs: "a non-negative integer of milliseconds",
  intervalMs: "a positive integer of milliseconds",
  retryForMs: "a non-negative integer of milliseconds",
  duplicateWindowMs: "a positive integer of milliseconds",
  maxElements: "a positive integer",
  maxDeliveries: "a positive integer",
  idPrefix: "a string",
  dtype: '"float64" or "float32"',
  signal: "an AbortSignal",
  output: '"full" or "losses"',
  includeState: "a boolean",
  loss: "BatchCorrelationLoss options",
  prefix: "a bucket name (A–Z a–z 0–9 _ -)",
  ttlMs: "a positive integer of milliseconds",
  beforeCommit: "a function",
  onCommit: "a function",
  onPublished: "a function",
};
