// dns-01 (RFC 8555 §8.4): a TXT record at _acme-challenge.<domain> holding the base64url SHA-256
// of the key authorization. Other TXT records may sit beside it (several orders in flight, or a
// stale one), so any match is enough.

import type { ValidationContext } from './context.js';
import { keyAuthorizationDigest } from './digest.js';
import { resolveTxt } from './resolve.js';
import { failed, quote, type ValidationOutcome } from './types.js';

const LISTED_RECORDS = 5;

export async function validateDns01(ctx: ValidationContext, domain: string, keyAuthorization: string): Promise<ValidationOutcome> {
  const name = `_acme-challenge.${domain}`;
  const expected = keyAuthorizationDigest(keyAuthorization).toString('base64url');
  const found = await resolveTxt(ctx, name);
  if (!found.ok) return found;
  const records = found.value;
  if (records.includes(expected)) return { ok: true };
  if (records.length === 0) return failed('unauthorized', `No TXT record found at ${name}`);
  const listed = records
    .slice(0, LISTED_RECORDS)
    .map((r) => quote(r))
    .join(', ');
  const more = records.length > LISTED_RECORDS ? ` and ${records.length - LISTED_RECORDS} more` : '';
  return failed('unauthorized', `Incorrect TXT record at ${name}: expected ${quote(expected)}, found ${listed}${more}`);
}
