// `workload-ca revoke` refuses a bad command line before it reaches the server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRevokeArgs } from '../../src/server/revoke-command.js';

test('exactly one selector, a RFC 5280 reason, and the options passed through', () => {
  assert.deepEqual(
    parseRevokeArgs(['--prefix', 'spiffe://td/ns/a/', '--reason', '1', '--dry-run', '--requested-by', 'n', '--server', 'https://ca:8443']),
    {
      ok: true,
      request: { spiffeIdPrefix: 'spiffe://td/ns/a/', reason: 1, requestedBy: 'n', dryRun: true },
      server: 'https://ca:8443',
    },
  );
  assert.deepEqual(parseRevokeArgs(['--serial', 'AB']), { ok: true, request: { serial: 'AB' } });
  for (const args of [
    [],
    ['--serial', 'ab', '--spiffe-id', 'spiffe://td/x'],
    ['--serial', 'ab', '--reason', '7'],
    ['--serial', 'ab', '--reason', '1x'],
    ['--nope'],
  ]) {
    assert.equal(parseRevokeArgs(args).ok, false, args.join(' '));
  }
});
