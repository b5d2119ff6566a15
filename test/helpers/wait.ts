/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws with `what`). */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * When fewer than `withinMs` are left before 00:00 UTC, waits until just after it. A test
 * that compares daily counters with the day it started on calls this first, with a bound
 * above its own timeouts, so it always runs, on one UTC day (never skipped at midnight).
 */
export async function clearOfMidnightUtc(withinMs: number): Promise<void> {
  const left = 86_400_000 - (Date.now() % 86_400_000);
  if (left < withinMs) await sleep(left + 1000);
}
