// Reconnect delays: exponential with full jitter (above a floor), so that many viewers dropped at once by a
// restarting node do not all come back in the same instant.

export interface BackoffPolicy {
  minMs: number;
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { minMs: 100, baseMs: 500, maxMs: 15_000 };

/** Delay before reconnect attempt `attempt` (0 = the first retry); `random` returns [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.round(policy.minMs + random() * Math.max(0, cap - policy.minMs));
}
