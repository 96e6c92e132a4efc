// What start-up checks about the CA before anything serves: how the issuing key is kept (see
// checkKeyCustody) and how long the issuing CA has left.

import { checkKeyCustody } from '../ca/open-signer.js';
import { loadCaCertificates } from '../ca/ceremony.js';
import type { Config } from '../config/config.js';

const DAY_MS = 86_400_000;
/** Below this, every start says the issuing CA needs rotating. */
const EXPIRY_WARNING_DAYS = 30;

/** Throws where the server must not start; returns the warnings to print. */
export function checkCaAtStart(config: Config, production: boolean, now: number = Date.now()): string[] {
  const warnings: string[] = [];
  const custody = checkKeyCustody(config, production);
  if (custody.kind === 'refuse') throw new Error(custody.message);
  if (custody.kind === 'warn') warnings.push(custody.message);
  const { issuing } = loadCaCertificates(config.ca);
  const left = Date.parse(issuing.validTo) - now;
  if (left <= 0) {
    warnings.push(
      `the issuing CA ${config.ca.issuingCert} expired at ${issuing.validTo}: every issuance is refused (ca-unavailable) until it is replaced`,
    );
  } else if (left < EXPIRY_WARNING_DAYS * DAY_MS) {
    warnings.push(
      `the issuing CA ${config.ca.issuingCert} expires in ${(left / DAY_MS).toFixed(1)} days (${issuing.validTo}); leaves are capped at that time: replace it soon`,
    );
  }
  return warnings;
}
