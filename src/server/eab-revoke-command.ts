// `workload-ca acme eab revoke KEY_ID`: the key binds no new accounts. With --deactivate-accounts
// the accounts it bound are revoked too (ACME refuses them), and with --revoke-certificates their
// live certificates, as one revocation event. Those go through the admin API in both modes,
// because the serving processes are what publish a revocation (and forget a cached account); the
// key alone is a row that, with Postgres, the CLI may write itself.

import { parseArgs } from 'node:util';
import type { Config } from '../config/config.js';
import { SqlAcmeStore } from '../http/acme/sql-store.js';
import { openPostgresLedger } from '../ledger/postgres.js';
import { revokeEabKeyViaServer, type EabRevokeOptions } from './admin-client.js';
import { parseReason } from './revoke-command.js';

const USAGE = `usage: workload-ca acme eab revoke KEY_ID [--deactivate-accounts [--revoke-certificates [--reason N]]]
         [--requested-by NOTE] [--server URL]`;

type Parsed = { ok: true; keyId: string; options: EabRevokeOptions; server?: string } | { ok: false; reason: string };

export function parseEabRevokeArgs(args: string[]): Parsed {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'deactivate-accounts': { type: 'boolean' },
        'revoke-certificates': { type: 'boolean' },
        reason: { type: 'string' },
        'requested-by': { type: 'string' },
        server: { type: 'string' },
      },
    }));
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  if (positionals.length !== 1) return { ok: false, reason: 'give exactly one KEY_ID' };
  const deactivate = values['deactivate-accounts'] === true;
  const certificates = values['revoke-certificates'] === true;
  if (certificates && !deactivate) {
    return { ok: false, reason: '--revoke-certificates needs --deactivate-accounts: the accounts would order new certificates' };
  }
  if (values.reason !== undefined && !certificates) return { ok: false, reason: '--reason applies to --revoke-certificates' };
  let reason: number | undefined;
  if (values.reason !== undefined) {
    const parsed = parseReason(values.reason);
    if (!parsed.ok) return parsed;
    reason = parsed.reason;
  }
  return {
    ok: true,
    keyId: positionals[0]!,
    options: {
      ...(deactivate && { deactivateAccounts: true }),
      ...(certificates && { revokeCertificates: true }),
      ...(reason !== undefined && { reason }),
      ...(values['requested-by'] !== undefined && { requestedBy: values['requested-by'] }),
    },
    ...(values.server !== undefined && { server: values.server }),
  };
}

export async function eabRevokeCommand(args: string[], config: () => Config): Promise<number> {
  const parsed = parseEabRevokeArgs(args);
  if (!parsed.ok) {
    console.error(`${parsed.reason}\n${USAGE}`);
    return 2;
  }
  const cfg = config();
  const { keyId, options } = parsed;
  let result;
  if (cfg.databaseUrl !== null && !options.deactivateAccounts && parsed.server === undefined) {
    const direct = openPostgresLedger(cfg.databaseUrl, { max: 1, applicationName: 'workload-ca acme eab' });
    try {
      result = (await new SqlAcmeStore(direct).revokeEabKey(keyId)) ? { deactivatedAccounts: [] } : null;
    } finally {
      await direct.close();
    }
  } else {
    result = await revokeEabKeyViaServer(cfg, keyId, options, parsed.server);
  }
  if (result === null) {
    console.error(`no EAB key ${keyId}`);
    return 1;
  }
  if (!options.deactivateAccounts) {
    console.log(`revoked ${keyId}: it binds no new accounts (accounts already bound keep working)`);
    return 0;
  }
  console.log(`revoked ${keyId} and ${result.deactivatedAccounts.length} account(s) it bound`);
  for (const id of result.deactivatedAccounts) console.log(`account ${id}`);
  if (result.certificates !== undefined) {
    const c = result.certificates;
    console.log(`revoked ${c.revoked} certificate(s)${c.eventId ? ` (revocation event ${c.eventId})` : ''}`);
    for (const serial of c.serials) console.log(serial);
  }
  return 0;
}
