// `workload-ca revoke`: always through the admin API, in both modes, because the serving
// processes are what publish a revocation to every replica; a direct database write would not.

import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { REQUESTER_KINDS, type RequesterKind } from '../revocation/event.js';
import { REVOCATION_REASONS } from '../revocation/operator.js';
import { revokeViaServer, type RevokeRequest } from './admin-client.js';

const USAGE = `usage: workload-ca revoke --serial HEX | --spiffe-id ID | --prefix SPIFFE_ID_PREFIX
                          | --requester KIND:ID | --eab-binding NAME | --eab-key KEY_ID
         [--reason N] [--dry-run] [--requested-by NOTE] [--server URL]
  KIND:ID is a requester as the inventory names it (requester_kind:requester_id), e.g.
  est-client:gw-0042@gateways for everything that EST gateway enrolled.`;

const SELECTOR_FLAGS = ['serial', 'spiffe-id', 'prefix', 'requester', 'eab-binding', 'eab-key'] as const;

/** `KIND:ID`, split at the first colon (an ID may hold colons: a SPIFFE ID does). */
export function parseRequester(text: string): { kind: RequesterKind; id: string } | null {
  const colon = text.indexOf(':');
  if (colon < 0) return null;
  const kind = text.slice(0, colon);
  const id = text.slice(colon + 1);
  if (!(REQUESTER_KINDS as readonly string[]).includes(kind) || id.length === 0) return null;
  return { kind: kind as RequesterKind, id };
}

/** `--reason N`: an RFC 5280 CRLReason, or why not. */
export function parseReason(text: string): { ok: true; reason: number } | { ok: false; reason: string } {
  const reason = Number(text);
  if (!/^\d+$/.test(text) || !(REVOCATION_REASONS as readonly number[]).includes(reason)) {
    return { ok: false, reason: `--reason must be one of ${REVOCATION_REASONS.join(', ')} (RFC 5280 CRLReason)` };
  }
  return { ok: true, reason };
}

type Parsed = { ok: true; request: RevokeRequest; server?: string } | { ok: false; reason: string };

export function parseRevokeArgs(args: string[]): Parsed {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      allowPositionals: false,
      options: {
        serial: { type: 'string' },
        'spiffe-id': { type: 'string' },
        prefix: { type: 'string' },
        requester: { type: 'string' },
        'eab-binding': { type: 'string' },
        'eab-key': { type: 'string' },
        reason: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'requested-by': { type: 'string' },
        server: { type: 'string' },
      },
    }));
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const selectors = SELECTOR_FLAGS.filter((f) => values[f] !== undefined);
  if (selectors.length !== 1) return { ok: false, reason: `give exactly one of ${SELECTOR_FLAGS.map((f) => `--${f}`).join(', ')}` };
  let requester: { kind: RequesterKind; id: string } | null = null;
  if (values.requester !== undefined) {
    requester = parseRequester(values.requester);
    if (requester === null) return { ok: false, reason: `--requester must be KIND:ID with KIND one of ${REQUESTER_KINDS.join(', ')}` };
  }
  let reason: number | undefined;
  if (values.reason !== undefined) {
    const parsed = parseReason(values.reason);
    if (!parsed.ok) return parsed;
    reason = parsed.reason;
  }
  return {
    ok: true,
    request: {
      ...(values.serial !== undefined && { serial: values.serial }),
      ...(values['spiffe-id'] !== undefined && { spiffeId: values['spiffe-id'] }),
      ...(values.prefix !== undefined && { spiffeIdPrefix: values.prefix }),
      ...(requester !== null && { requester }),
      ...(values['eab-binding'] !== undefined && { eabBinding: values['eab-binding'] }),
      ...(values['eab-key'] !== undefined && { eabKeyId: values['eab-key'] }),
      ...(reason !== undefined && { reason }),
      ...(values['requested-by'] !== undefined && { requestedBy: values['requested-by'] }),
      ...(values['dry-run'] === true && { dryRun: true }),
    },
    ...(values.server !== undefined && { server: values.server }),
  };
}

export async function revokeCommand(args: string[], config: () => Config): Promise<number> {
  const parsed = parseRevokeArgs(args);
  if (!parsed.ok) {
    console.error(`${parsed.reason}\n${USAGE}`);
    return 2;
  }
  const result = await revokeViaServer(config(), parsed.request, parsed.server);
  if (result.dryRun) {
    console.log(`dry run: would revoke ${result.wouldRevoke ?? result.serials.length} certificate(s)`);
  } else {
    console.log(`revoked ${result.revoked} certificate(s)${result.eventId ? ` (revocation event ${result.eventId})` : ''}`);
  }
  for (const serial of result.serials) console.log(serial);
  return 0;
}
