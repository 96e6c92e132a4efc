// Secrets of the service's own, each in a file of its own (a mounted Kubernetes Secret in
// production): never derived from a CA key, so that no code outside a signer needs key material.

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Fewer characters than this cannot carry 256 bits in any text encoding an operator would use. */
const MIN_SECRET_CHARS = 32;

/** Writes 32 random bytes, base64url, mode 0600; leaves an existing file alone. Says whether it wrote. */
export function writeSecretFile(path: string): boolean {
  if (existsSync(path)) return false;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return true;
}

/** The secret's bytes as written (surrounding whitespace dropped); refuses a missing or short one. */
export function readSecretFile(path: string, what: string): Buffer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
  if (text.length < MIN_SECRET_CHARS) throw new Error(`${what} ${path} is too short: at least ${MIN_SECRET_CHARS} random characters`);
  return Buffer.from(text, 'utf8');
}
