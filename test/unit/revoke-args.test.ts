// `workload-ca revoke` and `acme eab revoke` refuse a bad command line before it reaches the server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEabRevokeArgs } from '../../src/server/eab-revoke-command.js';
import { parseRequester, parseRevokeArgs } from '../../src/server/revoke-command.js';

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

test('--requester KIND:ID splits at the first colon; the EAB selectors pass through; still exactly one selector', () => {
  assert.deepEqual(parseRevokeArgs(['--requester', 'est-client:gw-0042@gateways']), {
    ok: true,
    request: { requester: { kind: 'est-client', id: 'gw-0042@gateways' } },
  });
  assert.deepEqual(parseRequester('svid:spiffe://td/ns/a/sa/b'), { kind: 'svid', id: 'spiffe://td/ns/a/sa/b' });
  assert.deepEqual(parseRevokeArgs(['--eab-binding', 'fleet']), { ok: true, request: { eabBinding: 'fleet' } });
  assert.deepEqual(parseRevokeArgs(['--eab-key', 'eab_x', '--dry-run']), { ok: true, request: { eabKeyId: 'eab_x', dryRun: true } });
  for (const args of [
    ['--requester', 'gw-0042@gateways'],
    ['--requester', 'gateway:gw-0042'],
    ['--requester', 'est-client:'],
    ['--requester', 'est-client:gw', '--eab-binding', 'fleet'],
    ['--eab-key', 'eab_x', '--serial', 'ab'],
  ]) {
    assert.equal(parseRevokeArgs(args).ok, false, args.join(' '));
  }
});

test('acme eab revoke: one key id; --revoke-certificates needs --deactivate-accounts; --reason only with it', () => {
  assert.deepEqual(parseEabRevokeArgs(['eab_k']), { ok: true, keyId: 'eab_k', options: {} });
  assert.deepEqual(
    parseEabRevokeArgs([
      'eab_k',
      '--deactivate-accounts',
      '--revoke-certificates',
      '--reason',
      '9',
      '--requested-by',
      'T-7',
      '--server',
      'https://ca:8443',
    ]),
    {
      ok: true,
      keyId: 'eab_k',
      options: { deactivateAccounts: true, revokeCertificates: true, reason: 9, requestedBy: 'T-7' },
      server: 'https://ca:8443',
    },
  );
  for (const args of [
    [],
    ['eab_a', 'eab_b'],
    ['eab_k', '--revoke-certificates'],
    ['eab_k', '--deactivate-accounts', '--reason', '1'],
    ['eab_k', '--deactivate-accounts', '--revoke-certificates', '--reason', '7'],
    ['eab_k', '--nope'],
  ]) {
    assert.equal(parseEabRevokeArgs(args).ok, false, args.join(' '));
  }
});
