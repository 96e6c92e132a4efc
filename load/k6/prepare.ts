// Makes the data files the k6 scripts read, so that no key or CSR is generated inside the load
// test (k6 has no CSR encoder, and key generation would be measured as CA latency):
//
//   node --import tsx load/k6/prepare.ts --out load/k6/data --count 20000 \
//     --trust-domain prod.example.org --tokens tokens.txt \
//     --est-device-prefix spiffe://prod.example.org/gateway/gw-001/device/ \
//     --acme-binding loadtest
//
// api.json:  [{ csr: PEM, token }], tokens taken in turn from --tokens (one per line);
// est.json:  [base64 DER CSR], each naming <est-device-prefix>d-<i> (or no SAN without the prefix);
// acme.json: [{ name, csr: base64url DER }], names h<i>-<run>.<binding>.vm.<trust domain>,
//            fresh per run so no order rides on an earlier authorization.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encodeCsr } from '../../src/pki/csr-encode.js';
import { readTokenFile } from '../../test/support/workload.js';

const EMPTY_SUBJECT = Buffer.from([0x30, 0x00]);

export interface PrepareOptions {
  readonly out: string;
  readonly count: number;
  readonly trustDomain: string;
  readonly tokens: readonly string[];
  readonly estDevicePrefix: string | null;
  readonly acmeBinding: string | null;
}

function csr(names: { uris?: string[]; dnsNames?: string[] }): Buffer {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return encodeCsr(privateKey, EMPTY_SUBJECT, { uris: names.uris ?? [], dnsNames: names.dnsNames ?? [], ipAddresses: [] });
}

const pem = (der: Buffer): string =>
  `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE REQUEST-----\n`;

export function prepare(o: PrepareOptions): string[] {
  mkdirSync(o.out, { recursive: true });
  const written: string[] = [];
  const write = (name: string, data: unknown): void => {
    writeFileSync(join(o.out, name), JSON.stringify(data));
    written.push(name);
  };
  if (o.tokens.length > 0) {
    write(
      'api.json',
      Array.from({ length: o.count }, (_, i) => ({ csr: pem(csr({})), token: o.tokens[i % o.tokens.length] })),
    );
  }
  write(
    'est.json',
    Array.from({ length: o.count }, (_, i) => csr(o.estDevicePrefix ? { uris: [`${o.estDevicePrefix}d-${i}`] } : {}).toString('base64')),
  );
  if (o.acmeBinding) {
    const run = randomBytes(3).toString('hex');
    write(
      'acme.json',
      Array.from({ length: o.count }, (_, i) => {
        const name = `h${i}-${run}.${o.acmeBinding}.vm.${o.trustDomain}`;
        return { name, csr: csr({ dnsNames: [name] }).toString('base64url') };
      }),
    );
  }
  return written;
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'load/k6/data' },
      count: { type: 'string', default: '10000' },
      'trust-domain': { type: 'string', default: 'workload-ca.test' },
      tokens: { type: 'string' },
      'est-device-prefix': { type: 'string' },
      'acme-binding': { type: 'string' },
    },
  });
  const count = Number(values.count);
  if (!Number.isInteger(count) || count < 1) {
    console.error('--count must be a positive whole number');
    return 2;
  }
  const written = prepare({
    out: values.out!,
    count,
    trustDomain: values['trust-domain']!,
    tokens: values.tokens ? readTokenFile(values.tokens) : [],
    estDevicePrefix: values['est-device-prefix'] ?? null,
    acmeBinding: values['acme-binding'] ?? null,
  });
  console.log(`wrote ${written.map((f) => join(values.out!, f)).join(', ')} (${count} entries each)`);
  if (!values.tokens) console.log('no --tokens: api.json not written (the API needs bearer tokens)');
  if (!values['acme-binding']) console.log('no --acme-binding: acme.json not written');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
