// A SoftHSM2 token of the test's own: its own configuration and token directory (SOFTHSM2_CONF),
// initialised with softhsm2-util, so tests never touch the machine's tokens or each other's.

import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pkcs11Config } from '../../src/config/types.js';
import { scratchDir } from './scratch.js';

/** Debian's path (package libsofthsm2); the multiarch one is the same library. */
export const SOFTHSM_MODULE =
  ['/usr/lib/softhsm/libsofthsm2.so', '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so'].find((p) => existsSync(p)) ?? '';

export interface TestToken {
  /** SOFTHSM2_CONF for any process that opens the token (set before the library is loaded). */
  readonly env: { SOFTHSM2_CONF: string };
  readonly pinFile: string;
  readonly config: Pkcs11Config;
  /** The same settings as the CA's environment variables. */
  readonly caEnv: Record<string, string>;
}

export function makeToken(label: string, keyLabel = 'issuing-ca'): TestToken {
  if (!SOFTHSM_MODULE) throw new Error('SoftHSM2 is not installed (apt-get install softhsm2; scripts/test-setup.sh does)');
  const dir = scratchDir('softhsm-');
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${dir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { SOFTHSM2_CONF: conf };
  const pin = '4711';
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', '0815', '--pin', pin], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });
  return {
    env,
    pinFile,
    config: { module: SOFTHSM_MODULE, tokenLabel: label, keyLabel, keyId: null, pin },
    caEnv: {
      ...env,
      WORKLOAD_CA_SIGNER: 'pkcs11',
      WORKLOAD_CA_PKCS11_MODULE: SOFTHSM_MODULE,
      WORKLOAD_CA_PKCS11_TOKEN_LABEL: label,
      WORKLOAD_CA_PKCS11_KEY_LABEL: keyLabel,
      WORKLOAD_CA_PKCS11_PIN_FILE: pinFile,
    },
  };
}
