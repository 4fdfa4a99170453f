// The one retry delay of the browser code: exponential backoff with jitter, capped.
// delay(attempt) for attempt = 1, 2, 3 … is base·2^(attempt-1), at most cap, then scaled by a
// random factor in [1 - jitter, 1] so that many pages reconnecting after a restart spread out.

export function backoffDelay(attempt, { base = 500, cap = 15000, jitter = 0.5 } = {}) {
  const step = Math.max(0, Math.min(attempt - 1, 16));
  const raw = Math.min(cap, base * 2 ** step);
  return Math.round(raw * (1 - jitter * Math.random()));
}
