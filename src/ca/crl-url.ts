// Where an issuing CA's CRL is published: one stable path per issuer, named by the hex of its key
// identifier (the ledger's issuer_key_id), so a CRL Distribution Point written into a
// certificate keeps working after the CA rotates to another issuing key.

import type { Policy, PolicyProblem } from '../policy/index.js';

export const CRL_PREFIX = '/crl';

/** The issuer that signs today; the convenience alias relying parties may use before rotation matters. */
export const ACTIVE_ISSUER = 'active';

export type CrlFormat = 'der' | 'pem';

/** `/crl/<issuerKeyId>.crl` (DER) or `.pem`. */
export function crlPath(issuerKeyId: string, format: CrlFormat = 'der'): string {
  return `${CRL_PREFIX}/${issuerKeyId}.${format === 'der' ? 'crl' : 'pem'}`;
}

/** The URL a CRL Distribution Point names: the configured public base and the issuer's path. */
export function crlUrl(publicBase: string, issuerKeyId: string): string {
  return `${publicBase}${crlPath(issuerKeyId)}`;
}

/**
 * A rule that asks for a CRL Distribution Point needs `crl.publicUrl`: without it there is no
 * URL to name, so such a policy is refused at start and on reload instead of failing per request.
 */
export function crlDistributionPointProblems(publicUrl: string | null): (policy: Policy) => PolicyProblem[] {
  return (policy) =>
    publicUrl !== null
      ? []
      : policy.rules.flatMap((rule, i) =>
          rule.grant.crlDistributionPoint
            ? [
                {
                  line: 0,
                  column: 0,
                  path: `rules[${i}].grant.crlDistributionPoint`,
                  message: `rule "${rule.name}" names the CRL in its certificates, but crl.publicUrl (WORKLOAD_CA_CRL_PUBLIC_URL) is not set`,
                },
              ]
            : [],
        );
}
