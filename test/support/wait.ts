import { setTimeout as sleep } from "node:timers/promises";

/**
 * Resolves once `condition` holds, checking every 10 ms; fails after `timeoutMs`. For state a
 * test can only observe by looking (log lines, a stream's messages, the database's activity), never to wait out a clock.
 */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await sleep(10);
  }
}
