// Builds what the EST plugin needs from the configuration: the labels, their trust anchors
// (read once at start; a change needs a restart, like the CA's own files) and whether they trust
// registration authorities, and the users file.

import { readFileSync } from 'node:fs';
import type { X509Certificate } from 'node:crypto';
import type { EstConfig } from '../../config/config.js';
import type { Issuer, PolicySource } from '../../issuance/issuer.js';
import { TrustAnchors } from './anchors.js';
import type { RevocationCheck } from '../../revocation/set.js';
import { ENROLL_OPERATIONS, type EstDeps, type EstLabel } from './plugin.js';
import { BasicUsers } from './users.js';

export interface EstWiring {
  readonly issuer: Issuer;
  readonly policy: PolicySource;
  readonly root: X509Certificate;
  readonly issuing: X509Certificate;
  readonly revocations: RevocationCheck;
}

const OPERATION_NAMES: readonly string[] = [...ENROLL_OPERATIONS, 'cacerts', 'csrattrs'];

export function buildEstDeps(config: EstConfig, wiring: EstWiring): EstDeps {
  const labels = new Map<string, EstLabel>();
  for (const [label, l] of Object.entries(config.labels)) {
    // /.well-known/est/cacerts/cacerts would read as either; an operation name is not a label.
    if (OPERATION_NAMES.includes(label)) throw new Error(`est.labels: "${label}" is an EST operation name and cannot be a label`);
    needsAnchors(l, `est.labels.${label}`);
    labels.set(label, {
      anchors: readAnchors(l.trustAnchors, `est.labels.${label}.trustAnchors`),
      trustRegistrationAuthorities: l.trustRegistrationAuthorities,
    });
  }
  needsAnchors(config, 'est');
  return {
    issuer: wiring.issuer,
    policy: wiring.policy,
    issuing: wiring.issuing,
    revocations: wiring.revocations,
    caCertificates: [wiring.root.raw, wiring.issuing.raw],
    users: new BasicUsers(config.usersFile, { cacheSeconds: config.basicCacheSeconds, hashConcurrency: config.passwordHashConcurrency }),
    anchors: readAnchors(config.trustAnchors, 'est.trustAnchors'),
    trustRegistrationAuthorities: config.trustRegistrationAuthorities,
    labels,
  };
}

/** CA-issued certificates never carry id-kp-cmcRA, so an RA can only authenticate with an anchored certificate. */
function needsAnchors(place: { readonly trustAnchors: readonly string[]; readonly trustRegistrationAuthorities: boolean }, setting: string): void {
  if (place.trustRegistrationAuthorities && place.trustAnchors.length === 0) {
    throw new Error(
      `${setting}.trustRegistrationAuthorities needs ${setting}.trustAnchors: a registration authority authenticates with a certificate that chains to them`,
    );
  }
}

function readAnchors(files: readonly string[], setting: string): TrustAnchors {
  const certificates = files.flatMap((file) => {
    let pem: string;
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`${setting}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
    }
    const anchors = TrustAnchors.fromPem(pem).certificates;
    if (anchors.length === 0) throw new Error(`${setting}: ${file} holds no PEM certificate`);
    for (const a of anchors)
      if (!a.ca) throw new Error(`${setting}: ${file} holds a certificate that is not a CA (${a.subject.replace(/\n/g, ', ')})`);
    return anchors;
  });
  return new TrustAnchors(certificates);
}
