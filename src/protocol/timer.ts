/**
 * Node's timers hold at most 2^31-1 ms (about 24.8 days); a longer delay fires after 1 ms with a
 * TimeoutOverflowWarning. Every wait a server derives from a wire `timeout_sec` goes through
 * {@link timeoutMs} so a huge value (`1e308`) waits as long as the platform can instead of
 * spinning. A caller that must wait longer waits again (see docs/wire-deviations.md).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Converts a timeout in seconds to a delay `setTimeout` honours: 0 ≤ ms ≤ {@link MAX_TIMER_MS}. */
export function timeoutMs(seconds: number): number {
  if (!(seconds > 0)) return 0; // negative, zero, NaN
  return Math.min(MAX_TIMER_MS, seconds * 1000);
}

/** Clamps a delay already in milliseconds (possibly Infinity) to what `setTimeout` honours. */
export function clampTimerMs(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(MAX_TIMER_MS, ms);
}
