// The dashboard's session key: random bytes of its own, never derived from the CA key. Made on
// first start in the data directory, or mounted (a Kubernetes Secret shared by every replica).

import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';

/** Shorter than this, the file cannot be a key this server made or an operator should use. */
const MIN_KEY_BYTES = 32;

/** Creates the key file when missing; returns whether it did. */
export function ensureSessionKey(file: string): boolean {
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    // wx: replicas starting together on a shared directory keep the first key written.
    writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  chmodSync(file, 0o600);
  return true;
}

export type SessionKey = { readonly ok: true; readonly key: Buffer } | { readonly ok: false; readonly reason: string };

export function readSessionKey(file: string): SessionKey {
  if (!existsSync(file)) return { ok: false, reason: `no session key at ${file}` };
  const key = Buffer.from(readFileSync(file, 'utf8').trim());
  if (key.length < MIN_KEY_BYTES) return { ok: false, reason: `the session key in ${file} is shorter than ${MIN_KEY_BYTES} characters` };
  return { ok: true, key };
}
