import { strict as assert } from 'node:assert';

/**
 * Polls `probe` until it is true, or fails the test naming what never happened. `what` may be a
 * function, read only on failure, to add what was seen by then (output, a response). A probe that
 * throws ends the wait with its error: for a condition that can no longer come true.
 */
export async function eventually(
  what: string | (() => string),
  probe: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  assert.fail(`timed out waiting for: ${typeof what === 'string' ? what : what()}`);
}
