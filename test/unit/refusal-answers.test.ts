// Every refusal code, and the 503 of an unavailable ledger, has an answer on every path, and the
// answers agree on what kind of failure it is. A code added to the vocabulary without its row in
// the table fails here (and does not compile).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IssuanceError } from '../../src/issuance/issuer.js';
import { REFUSAL_CODES, type RefusalCode } from '../../src/policy/types.js';
import { REFUSAL_ANSWERS, apiProblem, estError } from '../../src/http/refusal-answers.js';
import { ACME_ERROR_STATUS, acmeAnswer, problemDocument, problemStatus } from '../../src/http/acme/problems.js';
import { PROBLEM_TYPES } from '../../src/http/problem.js';

const refused = (code: RefusalCode): IssuanceError => ({ kind: 'refused', code, rule: 'some-rule', message: `refused for ${code}` });
const unavailable: IssuanceError = { kind: 'unavailable', service: 'audit', message: 'audit log unavailable: redis down', retryAfterSeconds: 2 };
const caExpired: IssuanceError = {
  kind: 'unavailable',
  service: 'ca',
  message: 'the issuing CA expired at 2026-01-01T00:00:00.000Z',
  retryAfterSeconds: 300,
};

/** What each code means, independent of any protocol: who must act. */
const CLASS: Record<RefusalCode, 'request' | 'credentials' | 'policy'> = {
  'bad-csr': 'request',
  'bad-request': 'request',
  'key-not-allowed': 'request',
  unauthenticated: 'credentials',
  'no-matching-rule': 'policy',
  'identity-not-allowed': 'policy',
  'san-not-allowed': 'policy',
  'lifetime-not-allowed': 'policy',
  'path-not-allowed': 'policy',
};

test('the table has exactly one row per refusal code, plus unavailable', () => {
  assert.deepEqual(Object.keys(REFUSAL_ANSWERS).sort(), [...REFUSAL_CODES, 'unavailable', 'ca-unavailable'].sort());
  assert.deepEqual(Object.keys(CLASS).sort(), [...REFUSAL_CODES].sort());
});

for (const code of REFUSAL_CODES) {
  test(`${code}: answered on the API, ACME and EST, as a ${CLASS[code]} failure`, () => {
    const error = refused(code);
    const api = apiProblem(error);
    assert.equal(api.type, `urn:workload-ca:problem:${REFUSAL_ANSWERS[code].api}`);
    assert.equal(api.status, PROBLEM_TYPES[REFUSAL_ANSWERS[code].api]);
    assert.equal(api.rule, 'some-rule');
    assert.match(api.detail, /refused for .* \(rule "some-rule"\)/);

    const acme = acmeAnswer(error);
    const doc = problemDocument(acme);
    assert.equal(doc.type, `urn:ietf:params:acme:error:${REFUSAL_ANSWERS[code].acme}`);
    assert.equal(doc.status, ACME_ERROR_STATUS[acme.type]);
    assert.match(String(doc.detail), /rule "some-rule"/);

    const est = estError(error);
    assert.equal(est.status, REFUSAL_ANSWERS[code].est);
    assert.match(est.message, new RegExp(`^${code}: refused for`));

    // The three agree on the kind of failure: the request is wrong (400), the credentials are
    // (401, ACME's unauthorized is 403 by RFC 8555), or the policy says no (403, ACME 400/403).
    const statuses = [api.status, problemStatus(acme), est.status];
    if (CLASS[code] === 'request') assert.deepEqual(statuses, [400, 400, 400]);
    if (CLASS[code] === 'credentials') assert.deepEqual(statuses, [401, 403, 401]);
    if (CLASS[code] === 'policy') {
      assert.equal(api.status, 403);
      assert.equal(est.status, 403);
      assert.ok(['rejectedIdentifier', 'unauthorized'].includes(acme.type), acme.type);
    }
  });
}

test('unavailable: 503 with Retry-After everywhere, and it says nothing was issued', () => {
  const api = apiProblem(unavailable);
  assert.equal(api.status, 503);
  assert.equal(api.type, 'urn:workload-ca:problem:audit-unavailable');
  assert.match(api.detail, /nothing was issued/);
  const acme = acmeAnswer(unavailable);
  assert.equal(problemStatus(acme), 503);
  assert.equal(acme.retryAfterSeconds, 2);
  const est = estError(unavailable);
  assert.equal(est.status, 503);
  assert.equal(est.retryAfterSeconds, 2);
});

test('ca-unavailable: 503 with Retry-After everywhere, named as the CA, and it says nothing was issued', () => {
  const api = apiProblem(caExpired);
  assert.equal(api.status, 503);
  assert.equal(api.type, 'urn:workload-ca:problem:ca-unavailable');
  assert.match(api.detail, /issuing CA expired .*nothing was issued/);
  const acme = acmeAnswer(caExpired);
  assert.equal(problemStatus(acme), 503);
  assert.equal(acme.type, 'serverInternal');
  assert.equal(acme.retryAfterSeconds, 300);
  const est = estError(caExpired);
  assert.equal(est.status, 503);
  assert.equal(est.retryAfterSeconds, 300);
  assert.match(est.message, /issuing CA expired/);
});

test('a CSR the checks refused says which check on EST; a wrong key is key-not-allowed everywhere', () => {
  const badSig: IssuanceError = {
    kind: 'refused',
    code: 'bad-csr',
    rule: 'csr-check',
    message: 'CSR signature does not verify',
    csrError: 'bad-signature',
  };
  assert.equal(estError(badSig).message, 'bad CSR (bad-signature): CSR signature does not verify');
  const key: IssuanceError = {
    kind: 'refused',
    code: 'key-not-allowed',
    rule: 'csr-check',
    message: 'ecdsa-p384 is not allowed',
    csrError: 'unsupported-key',
  };
  assert.equal(apiProblem(key).type, 'urn:workload-ca:problem:key-not-allowed');
  assert.equal(acmeAnswer(key).type, 'badPublicKey');
});
