import { strict as assert } from 'node:assert';

/** Polls `probe` until it is true, or fails the test naming what never happened. */
export async function eventually(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  assert.fail(`timed out waiting for: ${what}`);
}
