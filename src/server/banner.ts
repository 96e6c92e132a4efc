// What a newcomer sees on start-up: where the CA is, what to trust, and how to get a first SVID.

import { relative } from 'node:path';
import type { Config } from '../config/config.js';

/** Relative to the working directory when inside it, so the printed commands can be pasted. */
export function displayPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

export function baseUrl(config: Pick<Config, 'listen'>): string {
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host;
  return `https://${host}:${config.listen.port}`;
}

export function firstSvidHelp(config: Config): string {
  const url = baseUrl(config);
  const root = displayPath(config.ca.rootCert);
  const lines = [
    `Trust bundle (root CA): ${root}`,
    `ACME directory: ${url}/acme/directory (binding keys: npx workload-ca acme eab create --binding NAME)`,
  ];
  if (config.devTokenIssuer) {
    lines.push(
      'Get a first SVID (development token issuer; copy and paste):',
      '  openssl ecparam -name prime256v1 -genkey -noout -out svid.key',
      '  openssl req -new -key svid.key -subj "/O=demo" -out svid.csr',
      '  TOKEN=$(npx workload-ca token --namespace default --service-account demo)',
      `  curl --cacert ${root} -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" \\`,
      `       -H "Accept: application/pem-certificate-chain" \\`,
      `       --data "{\\"csr\\": \\"$(awk '{printf "%s\\\\n", $0}' svid.csr)\\"}" ${url}/v1/svids -o svid.pem`,
      `  openssl verify -CAfile ${root} -untrusted svid.pem svid.pem`,
      '  openssl x509 -in svid.pem -noout -ext subjectAltName',
    );
  }
  return lines.join('\n');
}
