// EST simpleenroll as edge gateways use it: each client is a gateway with its factory
// certificate on a kept-alive TLS connection, enrolling CSRs of its own devices.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { LABEL, verifySamples, type EstRequest, type Gateway } from '../est-workload.js';
import { TAG, childrenOf, contentOf, expectTag, readWhole } from '../../../src/pki/der.js';
import { describeError, serialHex, type Scenario, type ScenarioClient } from './scenario.js';

export interface EstSample {
  readonly request: EstRequest;
  readonly body: string;
}

export function estScenario(
  url: URL,
  rootPem: string,
  issuingPem: string,
  gateways: readonly Gateway[],
  requests: readonly EstRequest[],
): Scenario<EstSample> {
  const path = `/.well-known/est/${LABEL}/simpleenroll`;
  // Each gateway asks only for its own devices' CSRs, taken in turn.
  const byGateway = gateways.map((_, g) => requests.filter((r) => r.gateway === g));
  const cursors = gateways.map(() => 0);
  let opened = 0;
  return {
    kind: 'est',
    async clients(count) {
      return Array.from({ length: count }, (): ScenarioClient<EstSample> => {
        const g = opened++ % gateways.length;
        const gateway = gateways[g]!;
        const client = new Client(url.origin, { connect: { ca: rootPem, cert: gateway.certPem, key: gateway.keyPem }, pipelining: 1 });
        return {
          async attempt() {
            const request = byGateway[g]![cursors[g]!++ % byGateway[g]!.length]!;
            try {
              const res = await client.request({ method: 'POST', path, headers: { 'content-type': 'application/pkcs10' }, body: request.body });
              const body = await res.body.text();
              if (res.statusCode !== 200) return { ok: false, error: `est HTTP ${res.statusCode}: ${body.trim().slice(0, 160)}` };
              return { ok: true, serial: () => pkcs7LeafSerial(body), sample: () => ({ request, body }) };
            } catch (err) {
              return { ok: false, error: `est ${describeError(err)}` };
            }
          },
          close: () => client.close(),
        };
      });
    },
    verify(samples) {
      const dir = mkdtempSync(join(tmpdir(), 'wlca-est-verify-'));
      try {
        const result = verifySamples(samples, rootPem, issuingPem, dir);
        return { checked: result.checked, failures: result.failures };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The serial of the one certificate in a certs-only PKCS#7 reply (base64):
 * ContentInfo { type, [0] SignedData { version, digestAlgorithms, encapContentInfo, [0] certificates, ... } }.
 */
export function pkcs7LeafSerial(base64: string): string {
  const der = Buffer.from(base64.replace(/\s+/g, ''), 'base64');
  const [, content] = childrenOf(der, expectTag(readWhole(der), TAG.SEQUENCE, 'ContentInfo'));
  const [signedData] = childrenOf(der, expectTag(content, 0xa0, 'ContentInfo content'));
  const [, , , certificates] = childrenOf(der, expectTag(signedData, TAG.SEQUENCE, 'SignedData'));
  const [certificate] = childrenOf(der, expectTag(certificates, 0xa0, 'certificates'));
  const [tbs] = childrenOf(der, expectTag(certificate, TAG.SEQUENCE, 'Certificate'));
  const [, serial] = childrenOf(der, expectTag(tbs, TAG.SEQUENCE, 'TBSCertificate'));
  return serialHex(contentOf(der, expectTag(serial, TAG.INTEGER, 'serialNumber')));
}
