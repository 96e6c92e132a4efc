// ACME full orders as VM agents run them: each client is one account (made with an EAB key
// before any clock starts) on a kept-alive connection, ordering a fresh name each time:
// newOrder → authorization → http-01 (answered by the responder the CA fetches from) → poll →
// finalize → download. Names are never reused, so no order rides on a reused authorization.

import { X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Agent, request } from 'undici';
import { RawAcmeClient, completeOrder, newAccountKey } from '../acme-client.js';
import { buildCsr, sanExtension, testKey } from '../csr.js';
import { describeError, type Scenario, type ScenarioClient } from './scenario.js';

export interface AcmeSample {
  readonly chainPem: string;
  readonly host: string;
  readonly binding: string;
  readonly key: KeyObject;
}

/** Answers http-01 for every token any client has published, as the VMs' web servers would. */
export interface Http01Responder {
  readonly port: number;
  publish(token: string, keyAuthorization: string): void;
  close(): Promise<void>;
}

export async function startHttp01Responder(port: number): Promise<Http01Responder> {
  const answers = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const ka = answers.get((req.url ?? '').slice('/.well-known/acme-challenge/'.length));
    res.writeHead(ka ? 200 : 404).end(ka ?? '');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    port,
    publish: (token, ka) => answers.set(token, ka),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

export interface AcmeScenarioOptions {
  readonly origin: string;
  readonly rootPem: string;
  readonly trustDomain: string;
  readonly adminToken: string;
  readonly responder: Http01Responder;
  /** Orders prepared per client; a client that uses them all up reports an error, never reuses a name. */
  readonly ordersPerClient: number;
}

const BINDINGS = 50;

export function acmeScenario(o: AcmeScenarioOptions): Scenario<AcmeSample> {
  const directory = `${o.origin}/acme/directory`;
  let opened = 0;
  return {
    kind: 'acme',
    async clients(count) {
      return Promise.all(
        Array.from({ length: count }, async (): Promise<ScenarioClient<AcmeSample>> => {
          const id = opened++;
          const binding = `b${id % BINDINGS}`;
          const c = await new RawAcmeClient(directory, o.rootPem, await newAccountKey()).init();
          const created = await c.newAccount(await createEab(o, binding));
          if (created.status !== 201) throw new Error(`newAccount: ${created.status} ${created.text}`);
          const jobs = Array.from({ length: o.ordersPerClient }, (_, k) => {
            const host = `h${k}-c${id}.${binding}.vm.${o.trustDomain}`;
            const key = testKey('p256');
            return { host, key: key.publicKey, der: buildCsr({ key, extensions: [sanExtension({ dns: [host] })] }).der };
          });
          let next = 0;
          return {
            async attempt() {
              const job = jobs[next++];
              if (!job) return { ok: false, error: `acme: client ${id} used all ${o.ordersPerClient} prepared orders` };
              try {
                const r = await completeOrder(c, [job.host], job.der, o.responder.publish, 10);
                const sample = (): AcmeSample => ({ chainPem: r.chainPem, host: job.host, binding, key: job.key });
                return { ok: true, serial: () => new X509Certificate(r.chainPem).serialNumber, sample };
              } catch (err) {
                return { ok: false, error: `acme ${describeError(err)}` };
              }
            },
            close: () => c.close(),
          };
        }),
      );
    },
    verify(samples) {
      const root = new X509Certificate(o.rootPem);
      const failures = samples.flatMap((s) => {
        const problem = acmeSampleProblem(s, root, o.trustDomain);
        return problem ? [`${s.host}: ${problem}`] : [];
      });
      return { checked: samples.length, failures };
    },
  };
}

/** The chain leads to the root, the leaf names the host and its SPIFFE ID, and holds the CSR's key. */
export function acmeSampleProblem(s: AcmeSample, root: X509Certificate, trustDomain: string): string | null {
  const pems = s.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length !== 2) return `${pems.length} certificates in the chain`;
  const [leaf, issuing] = pems.map((p) => new X509Certificate(p));
  if (!leaf!.verify(issuing!.publicKey)) return 'leaf not signed by the issuing CA';
  if (!issuing!.verify(root.publicKey)) return 'issuing CA not signed by the root';
  const expected = `URI:spiffe://${trustDomain}/vm/${s.binding}/${s.host}, DNS:${s.host}`;
  if (leaf!.subjectAltName !== expected) return `SAN is ${leaf!.subjectAltName}`;
  const spki = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'spki' });
  return spki(leaf!.publicKey).equals(spki(s.key)) ? null : 'not for the CSR key';
}

/** An EAB key for `binding`, made through the admin API as an operator would. */
export async function createEab(
  o: { origin: string; rootPem: string; adminToken: string },
  binding: string,
): Promise<{ keyId: string; hmacKey: string }> {
  const dispatcher = new Agent({ connect: { ca: o.rootPem } });
  const res = await request(`${o.origin}/v1/admin/acme/eab-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${o.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ binding }),
    dispatcher,
  }).finally(() => dispatcher.close());
  const text = await res.body.text();
  if (res.statusCode !== 201) throw new Error(`eab: ${res.statusCode} ${text}`);
  return JSON.parse(text) as { keyId: string; hmacKey: string };
}
