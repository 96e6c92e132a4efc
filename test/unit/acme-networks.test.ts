// The validation networks' precedence, address by address (the integration test proves that the
// validators consult them before every connection).

import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ValidationNetworks } from '../../src/http/acme/validation/networks.js';

function networks(allowed: string[], denied: string[] = []): ValidationNetworks {
  const parsed = ValidationNetworks.parse(allowed, denied);
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.problems.join('; '));
  return parsed.value;
}

const refused = (n: ValidationNetworks, address: string): string => {
  const v = n.check(address);
  assert.equal(v.allowed, false, `${address} should be refused`);
  return v.allowed ? '' : v.reason;
};

describe('ACME validation networks', () => {
  it('by default: public and private allowed; loopback, link-local, metadata, multicast, unspecified refused', () => {
    const n = networks([]);
    for (const a of ['203.0.113.7', '10.1.2.3', '192.168.1.5', '172.16.0.1', '2001:db8::1', 'fd12::1']) assert.equal(n.check(a).allowed, true, a);
    assert.match(refused(n, '127.0.0.1'), /loopback.*allowedNetworks/);
    assert.match(refused(n, '::1'), /loopback/);
    assert.match(refused(n, '::ffff:127.0.0.1'), /loopback/);
    assert.match(refused(n, '169.254.169.254'), /cloud metadata.*deniedNetworks/);
    assert.match(refused(n, '::ffff:169.254.169.254'), /cloud metadata/);
    assert.match(refused(n, 'fd00:ec2::254'), /cloud metadata/);
    assert.match(refused(n, '169.254.1.1'), /link-local/);
    assert.match(refused(n, 'fe80::1'), /link-local/);
    assert.match(refused(n, '224.0.0.1'), /multicast/);
    assert.match(refused(n, 'ff02::1'), /multicast/);
    assert.match(refused(n, '0.0.0.0'), /unspecified/);
    assert.match(refused(n, '::'), /unspecified/);
  });

  it('an allow list admits only its networks, loopback included when named; denials win over it', () => {
    const n = networks(['127.0.0.0/8', '10.0.0.0/8', '0.0.0.0/0'], ['10.9.0.0/16']);
    assert.equal(n.check('127.0.0.1').allowed, true);
    assert.equal(n.check('203.0.113.7').allowed, true);
    assert.match(refused(n, '10.9.1.1'), /listed in acme\.validation\.deniedNetworks/);
    assert.match(refused(n, '169.254.169.254'), /always includes/);
    const narrow = networks(['10.0.0.0/8']);
    assert.match(refused(narrow, '192.168.1.1'), /not in acme\.validation\.allowedNetworks/);
    assert.match(refused(narrow, '2001:db8::1'), /not in acme\.validation\.allowedNetworks/);
    assert.equal(networks(['192.0.2.7']).check('192.0.2.7').allowed, true, 'a bare address is one host');
  });

  it('reports every entry that is not a network, naming its setting', () => {
    const parsed = ValidationNetworks.parse(['10.0.0.0/33', 'example.com'], ['300.1.1.1/8', 'fd00::/129']);
    assert.equal(parsed.ok, false);
    const problems = parsed.ok ? [] : parsed.problems;
    assert.equal(problems.length, 4, problems.join('\n'));
    assert.match(problems[0]!, /^acme\.validation\.allowedNetworks: "10\.0\.0\.0\/33"/);
    assert.match(problems[3]!, /^acme\.validation\.deniedNetworks: "fd00::\/129"/);
  });
});
