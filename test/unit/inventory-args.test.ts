// `workload-ca inventory` turns its command line into exactly the inventory API's query, and
// refuses a bad one before anything is asked.

import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { parseInventoryArgs, relative, table } from '../../src/server/inventory-command.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');

function query(argv: string[]): Record<string, string> {
  const p = parseInventoryArgs(argv, NOW);
  assert.ok(p.ok, p.ok ? '' : p.reason);
  const r = p.args.request;
  assert.ok(r.kind !== 'show');
  return Object.fromEntries(r.query);
}

test('ls maps each flag to the API filter of the same meaning; --expires-within is a window starting now', () => {
  assert.deepEqual(query(['ls', '--prefix', 'spiffe://td/ns/a/', '--path', 'est', '--status', 'revoked', '--limit', '20']), {
    spiffe_id_prefix: 'spiffe://td/ns/a/',
    path: 'est',
    status: 'revoked',
    limit: '20',
  });
  assert.deepEqual(query(['ls', '--expires-within', '1h30m']), {
    expires_after: '2026-11-29T12:00:00.000Z',
    expires_before: '2026-11-29T13:30:00.000Z',
  });
  assert.deepEqual(query(['stats', '--by', 'spiffe_id_prefix', '--depth', '3']), { group_by: 'spiffe_id_prefix', depth: '3' });
  assert.deepEqual(query(['denials']), {});
  assert.deepEqual(query(['ls', '--requester', 'est-client:gw-1@gateways']), { requester_kind: 'est-client', requester_id: 'gw-1@gateways' });
  assert.deepEqual(query(['ls', '--eab-binding', 'web', '--eab-key', 'eab_x']), { acme_binding: 'web', eab_key_id: 'eab_x' });
});

test('show takes one hex serial, any case; --json and --server apply everywhere', () => {
  const p = parseInventoryArgs(['show', 'ABCDEF01', '--json', '--server', 'https://ca-2:8443'], NOW);
  assert.ok(p.ok);
  assert.deepEqual(p.args, { request: { kind: 'show', serial: 'abcdef01', pem: false }, json: true, server: 'https://ca-2:8443' });
});

test('a bad command line is refused with the reason', () => {
  const refused = (argv: string[], reason: RegExp): void => {
    const p = parseInventoryArgs(argv, NOW);
    assert.equal(p.ok, false, argv.join(' '));
    if (!p.ok) assert.match(p.reason, reason);
  };
  refused([], /give ls, show, stats or denials/);
  refused(['list'], /unknown inventory command "list"/);
  refused(['ls', '--spiffe-id', 'spiffe://td/a', '--prefix', 'spiffe://td/'], /not both/);
  refused(['ls', '--path', 'scep'], /--path must be/);
  refused(['ls', '--status', 'valid'], /--status must be/);
  refused(['ls', '--expires-within', '1 hour'], /--expires-within/);
  refused(['ls', '--issued-after', 'yesterday'], /RFC 3339/);
  refused(['ls', '--limit', '0'], /--limit/);
  refused(['ls', '--limit', '5000'], /--limit/);
  refused(['ls', '--pem'], /--pem does not apply to `inventory ls`/);
  refused(['ls', '--requester', 'est-client'], /KIND:ID/);
  refused(['show'], /one serial/);
  refused(['show', 'xyz'], /one serial/);
  refused(['stats', '--by', 'rule'], /--by must be/);
  refused(['denials', '--status', 'live'], /does not apply/);
  refused(['ls', '--bogus'], /Unknown option/);
});

test('tables align their columns; times read relative to now', () => {
  assert.equal(
    table(
      ['A', 'BB', 'C'],
      [
        ['xxx', 'y', 'last column is not padded'],
        ['x', 'yyyy', 'z'],
      ],
    ),
    'A    BB    C\nxxx  y     last column is not padded\nx    yyyy  z',
  );
  assert.equal(relative('2026-11-29T12:59:00Z', NOW), 'in 59m');
  assert.equal(relative('2026-11-29T15:30:00Z', NOW), 'in 3h30m');
  assert.equal(relative('2026-11-27T12:00:00Z', NOW), '2d ago');
  assert.equal(relative('2026-11-29T12:00:30Z', NOW), 'in 30s');
});
