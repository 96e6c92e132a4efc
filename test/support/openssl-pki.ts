// Small PKIs made by openssl, the outside tool: a self-signed root, and leaves (or intermediates)
// signed by it with the extensions a test names. Manufacturer roots, factory certificates,
// registration authorities and strangers in the EST tests and the load tools all come from here.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

/** A certificate and its key, as PEM files. */
export interface PemFiles {
  readonly cert: string;
  readonly key: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const NEW_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A self-signed P-256 CA at `${stem}.pem` / `${stem}.key`; `serial` in openssl's syntax (default random). */
export function opensslRoot(stem: string, subject: string, opts: { days: number; keyUsage?: string; serial?: string }): PemFiles {
  const ku = opts.keyUsage ?? 'keyCertSign,cRLSign';
  const serial = opts.serial === undefined ? [] : ['-set_serial', opts.serial];
  const extensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', `keyUsage=critical,${ku}`];
  openssl([
    'req',
    '-x509',
    '-new',
    ...NEW_P256_KEY,
    '-keyout',
    `${stem}.key`,
    '-subj',
    subject,
    '-days',
    String(opts.days),
    ...serial,
    ...extensions,
    '-out',
    `${stem}.pem`,
  ]);
  return { cert: `${stem}.pem`, key: `${stem}.key` };
}

/**
 * A P-256 certificate at `${stem}.pem` / `${stem}.key` signed by `issuer`, with exactly the
 * extensions given (openssl's extension-file syntax, one per line).
 */
export function opensslLeaf(stem: string, subject: string, issuer: PemFiles, opts: { serial: string; days: number; extensions: string }): PemFiles {
  writeFileSync(`${stem}.ext`, opts.extensions);
  openssl(['req', '-new', ...NEW_P256_KEY, '-keyout', `${stem}.key`, '-subj', subject, '-out', `${stem}.csr`]);
  openssl(
    ['x509', '-req', '-in', `${stem}.csr`, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', opts.serial, '-days', String(opts.days)].concat([
      '-extfile',
      `${stem}.ext`,
      '-out',
      `${stem}.pem`,
    ]),
  );
  return { cert: `${stem}.pem`, key: `${stem}.key` };
}
