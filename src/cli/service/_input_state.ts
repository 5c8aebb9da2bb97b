/**
 * The states of the drift monitor's input, as `/healthz` and the
 * `batch_corr_input_state` series show them.
 *
 * @module
 */

/**
 * Where the input stands: `waiting` (nothing read yet), `flowing` (a batch or
 * row within `idleAfterMs`), `idle`, `ended` (the input finished) or `failed`
 * (a fatal input error).
 */
export type InputState = "waiting" | "flowing" | "idle" | "ended" | "failed";

/** Every {@linkcode InputState}, in the order of the `batch_corr_input_state` series. */
export const INPUT_STATES: readonly InputState[] = Object.freeze([
  "waiting",
  "flowing",
  "idle",
  "ended",
  "failed",
]);
