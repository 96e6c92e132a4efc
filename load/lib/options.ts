// Command-line options of the load tool. Parsing is strict so that a typo cannot silently turn a
// run against a remote CA into a run against a fresh embedded one (or the reverse).

import { parseArgs } from 'node:util';

export const USAGE = `usage: npm run bench:api -- [options]

  Embedded mode (default): starts \`workload-ca serve\` on a fresh temporary data directory and
  port 0, mints development tokens with \`workload-ca token\`, and removes everything at the end.
    --workers N|auto        server worker processes (default: auto = one per core)
    --identities N          distinct namespace/service-account tokens to mint (default: 16)
    --cpu-prof-dir DIR      run the server with node --cpu-prof, profiles written to DIR on stop
    --production            production mode: BullMQ queue on the machine's Redis (REDIS_URL or
                            127.0.0.1:6379, a private key prefix), a fresh Postgres database
                            (TEST_PG_URL or 127.0.0.1:5432) and one ledger worker; reports the
                            ledger's lag once the load stops

  Remote mode: --url URL --ca ROOT.pem --tokens FILE (one bearer token per line)

    --trust-domain TD       the embedded server's trust domain, or the one the remote server is
                            expected to put in SPIFFE IDs (default: workload-ca.test)

  Load:
    --concurrency LIST      comma-separated virtual-user counts, one level each (default: 1,64)
    --duration SECONDS      measured seconds per level (default: 10)
    --warmup SECONDS        unmeasured seconds before each level (default: 2)
    --csrs N                distinct prepared CSRs / private keys (default: 256)
    --verify N              issued certificates checked per level (default: 20)
    --json FILE             also write the results as JSON
    -h, --help`;

export type ServerChoice =
  | {
      readonly kind: 'embedded';
      readonly workers: number | 'auto';
      readonly identities: number;
      readonly cpuProfDir: string | null;
      readonly production: boolean;
    }
  | { readonly kind: 'remote'; readonly url: URL; readonly caFile: string; readonly tokensFile: string };

export interface BenchOptions {
  readonly server: ServerChoice;
  readonly trustDomain: string;
  readonly concurrency: readonly number[];
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly csrs: number;
  readonly verifySample: number;
  readonly jsonFile: string | null;
}

export type ParsedOptions = { ok: true; options: BenchOptions } | { ok: false; message: string; help?: boolean };

export function parseOptions(argv: string[]): ParsedOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        ca: { type: 'string' },
        tokens: { type: 'string' },
        'trust-domain': { type: 'string', default: 'workload-ca.test' },
        workers: { type: 'string', default: 'auto' },
        identities: { type: 'string', default: '16' },
        'cpu-prof-dir': { type: 'string' },
        production: { type: 'boolean', default: false },
        concurrency: { type: 'string', default: '1,64' },
        duration: { type: 'string', default: '10' },
        warmup: { type: 'string', default: '2' },
        csrs: { type: 'string', default: '256' },
        verify: { type: 'string', default: '20' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return { ok: false, message: `${(err as Error).message}\n(npm run bench:api -- --help lists the options)` };
  }
  if (values.help) return { ok: false, message: USAGE, help: true };

  const problems: string[] = [];
  const server = serverChoice(values, problems);
  const concurrency = values.concurrency.split(',').map((s) => positiveInt(s.trim(), '--concurrency', problems));
  const options: BenchOptions = {
    server: server ?? { kind: 'embedded', workers: 'auto', identities: 16, cpuProfDir: null, production: false },
    trustDomain: values['trust-domain'],
    concurrency,
    durationSeconds: positiveNumber(values.duration, '--duration', problems),
    warmupSeconds: nonNegativeNumber(values.warmup, '--warmup', problems),
    csrs: positiveInt(values.csrs, '--csrs', problems),
    verifySample: nonNegativeInt(values.verify, '--verify', problems),
    jsonFile: values.json ?? null,
  };
  return problems.length ? { ok: false, message: `${problems.join('\n')}\n\n${USAGE}` } : { ok: true, options };
}

interface RawServerValues {
  url?: string;
  ca?: string;
  tokens?: string;
  workers: string;
  identities: string;
  'cpu-prof-dir'?: string;
  production: boolean;
}

/** --url switches to remote mode, which then needs its own trust anchor and tokens. */
function serverChoice(values: RawServerValues, problems: string[]): ServerChoice | null {
  if (values.url === undefined) {
    if (values.ca !== undefined || values.tokens !== undefined) problems.push('--ca and --tokens are only used with --url');
    const workers = values.workers === 'auto' ? 'auto' : positiveInt(values.workers, '--workers', problems);
    const identities = positiveInt(values.identities, '--identities', problems);
    return { kind: 'embedded', workers, identities, cpuProfDir: values['cpu-prof-dir'] ?? null, production: values.production };
  }
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    problems.push(`--url ${JSON.stringify(values.url)} is not a URL`);
    return null;
  }
  if (url.protocol !== 'https:') problems.push('--url must be https://');
  if (values.ca === undefined) problems.push('--url needs --ca ROOT.pem (the only trust anchor used)');
  if (values.tokens === undefined) problems.push('--url needs --tokens FILE (one bearer token per line)');
  if (values['cpu-prof-dir'] !== undefined) problems.push('--cpu-prof-dir only applies to the embedded server');
  if (values.ca === undefined || values.tokens === undefined) return null;
  return { kind: 'remote', url, caFile: values.ca, tokensFile: values.tokens };
}

function positiveInt(s: string, name: string, problems: string[]): number {
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < 1) problems.push(`${name}: ${JSON.stringify(s)} is not a positive whole number`);
  return n;
}

function nonNegativeInt(s: string, name: string, problems: string[]): number {
  const n = Number(s);
  if (!/^\d+$/.test(s)) problems.push(`${name}: ${JSON.stringify(s)} is not a whole number`);
  return n;
}

function positiveNumber(s: string, name: string, problems: string[]): number {
  const n = Number(s);
  if (!(n > 0) || !Number.isFinite(n)) problems.push(`${name}: ${JSON.stringify(s)} is not a positive number`);
  return n;
}

function nonNegativeNumber(s: string, name: string, problems: string[]): number {
  const n = Number(s);
  if (!(n >= 0) || !Number.isFinite(n)) problems.push(`${name}: ${JSON.stringify(s)} is not a number ≥ 0`);
  return n;
}
