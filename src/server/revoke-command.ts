// `workload-ca revoke`: always through the admin API, in both modes, because the serving
// processes are what publish a revocation to every replica; a direct database write would not.

import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { REVOCATION_REASONS } from '../revocation/operator.js';
import { revokeViaServer, type RevokeRequest } from './admin-client.js';

const USAGE = `usage: workload-ca revoke --serial HEX | --spiffe-id ID | --prefix SPIFFE_ID_PREFIX
         [--reason N] [--dry-run] [--requested-by NOTE] [--server URL]`;

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
        reason: { type: 'string' },
        'dry-run': { type: 'boolean' },
        'requested-by': { type: 'string' },
        server: { type: 'string' },
      },
    }));
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const selectors = [values.serial, values['spiffe-id'], values.prefix].filter((v) => v !== undefined);
  if (selectors.length !== 1) return { ok: false, reason: 'give exactly one of --serial, --spiffe-id, --prefix' };
  let reason: number | undefined;
  if (values.reason !== undefined) {
    reason = Number(values.reason);
    if (!/^\d+$/.test(values.reason) || !(REVOCATION_REASONS as readonly number[]).includes(reason)) {
      return { ok: false, reason: `--reason must be one of ${REVOCATION_REASONS.join(', ')} (RFC 5280 CRLReason)` };
    }
  }
  return {
    ok: true,
    request: {
      ...(values.serial !== undefined && { serial: values.serial }),
      ...(values['spiffe-id'] !== undefined && { spiffeId: values['spiffe-id'] }),
      ...(values.prefix !== undefined && { spiffeIdPrefix: values.prefix }),
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
    console.log(`revoked ${result.revoked} certificate(s)`);
  }
  for (const serial of result.serials) console.log(serial);
  return 0;
}
