// The CLI's side of the admin API, for what only the running embedded server can do (it owns
// the embedded ledger, which one process at a time may open).

import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Config } from '../config/config.js';
import { baseUrl } from './banner.js';
import { readAdminToken } from './replica.js';

async function adminRequest(
  config: Config,
  method: string,
  path: string,
  body?: unknown,
  server?: string,
): Promise<{ status: number; text: string }> {
  const token = readAdminToken(config);
  if (token === null) throw new Error('no admin credential: start the server once (it creates one) or set WORKLOAD_CA_ADMIN_TOKEN');
  // Another replica or a remote CA when given; its certificate must still chain to the configured root.
  const url = `${(server ?? baseUrl(config)).replace(/\/+$/, '')}${path}`;
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(config.ca.rootCert),
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        },
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => reject(new Error(`cannot reach the server at ${url} (is \`workload-ca serve\` running?): ${err.message}`)));
    req.end(payload);
  });
}

function refused(r: { status: number; text: string }): Error {
  let detail = r.text;
  try {
    detail = (JSON.parse(r.text) as { detail?: string }).detail ?? r.text;
  } catch {
    /* not JSON: show it as it is */
  }
  return new Error(`the server refused (${r.status}): ${detail}`);
}

/** A read of the admin API: its JSON, or `opts.notFound` on 404 when given, else the refusal as an error. */
export async function adminGet<T = unknown>(config: Config, path: string, server?: string, opts?: { notFound: T }): Promise<unknown> {
  const r = await adminRequest(config, 'GET', path, undefined, server);
  if (r.status === 404 && opts !== undefined) return opts.notFound;
  if (r.status !== 200) throw refused(r);
  return JSON.parse(r.text) as unknown;
}

export async function createEabKeyViaServer(config: Config, binding: string): Promise<{ keyId: string; hmacKey: string; binding: string }> {
  const r = await adminRequest(config, 'POST', '/v1/admin/acme/eab-keys', { binding });
  if (r.status !== 201) throw refused(r);
  return JSON.parse(r.text) as { keyId: string; hmacKey: string; binding: string };
}

export interface EabRevokeOptions {
  readonly deactivateAccounts?: boolean;
  readonly revokeCertificates?: boolean;
  readonly reason?: number;
  readonly requestedBy?: string;
}

export interface EabRevokeResult {
  readonly deactivatedAccounts: string[];
  readonly certificates?: { readonly revoked: number; readonly eventId: string | null; readonly serials: string[] };
}

/** null: no such key. */
export async function revokeEabKeyViaServer(
  config: Config,
  keyId: string,
  options: EabRevokeOptions = {},
  server?: string,
): Promise<EabRevokeResult | null> {
  const body = Object.keys(options).length === 0 ? undefined : options;
  const r = await adminRequest(config, 'DELETE', `/v1/admin/acme/eab-keys/${encodeURIComponent(keyId)}`, body, server);
  if (r.status === 404) return null;
  if (r.status === 204) return { deactivatedAccounts: [] };
  if (r.status !== 200) throw refused(r);
  return JSON.parse(r.text) as EabRevokeResult;
}

export interface RevokeRequest {
  readonly serial?: string;
  readonly spiffeId?: string;
  readonly spiffeIdPrefix?: string;
  readonly requester?: { readonly kind: string; readonly id: string };
  readonly eabBinding?: string;
  readonly eabKeyId?: string;
  readonly reason?: number;
  readonly requestedBy?: string;
  readonly dryRun?: boolean;
}

export interface RevokeResult {
  readonly dryRun: boolean;
  readonly revoked: number;
  readonly wouldRevoke?: number;
  /** The revocation event recorded; null or absent when nothing was revoked. */
  readonly eventId?: string | null;
  readonly serials: string[];
}

export async function revokeViaServer(config: Config, body: RevokeRequest, server?: string): Promise<RevokeResult> {
  const r = await adminRequest(config, 'POST', '/v1/admin/revocations', body, server);
  if (r.status !== 200) throw refused(r);
  return JSON.parse(r.text) as RevokeResult;
}
