// `npm run bench:api`: measures SVID issuance (POST /v1/svids) at a few concurrency levels, then
// checks a sample of what was issued. See `npm run bench:api -- --help`.
//
// Fairness rules this tool keeps: all keys, CSRs, bodies and tokens exist before any clock
// starts; connections are kept alive and reused as agents do; warm-up is not counted; a request
// counts only when its whole body has been read; every level ends at its deadline; and numbers
// from wrong certificates are not numbers, so sampled certificates are verified after each level.

import { readFileSync } from 'node:fs';
import { startEmbeddedServer, type EmbeddedServer } from './lib/embedded-server.js';
import { mintCredentials } from './lib/tokens.js';
import { parseOptions, type BenchOptions } from './lib/options.js';
import {
  commandLine,
  levelNotes,
  machineInfo,
  markdownTable,
  printHeader,
  writeJson,
  type BenchReport,
  type LevelReport,
  type ServerInfo,
} from './lib/report.js';
import { runLevel, type Target } from './lib/runner.js';
import { verifySamples } from '../test/support/verify.js';
import { credentialFromToken, prepareRequests, readTokenFile, type Credential } from '../test/support/workload.js';

interface Setup {
  readonly target: Target;
  readonly credentials: readonly Credential[];
  readonly server: ServerInfo;
  readonly embedded: EmbeddedServer | null;
}

let cleanup: (() => Promise<void>) | null = null;

async function main(argv: string[]): Promise<number> {
  const parsed = parseOptions(argv);
  if (!parsed.ok) {
    (parsed.help ? console.log : console.error)(parsed.message);
    return parsed.help ? 0 : 2;
  }
  const options = parsed.options;
  stopOnSignals();
  const setup = await prepareTarget(options);
  try {
    return await benchmark(options, setup);
  } finally {
    await setup.embedded?.stop();
  }
}

async function benchmark(options: BenchOptions, setup: Setup): Promise<number> {
  const startedAt = new Date().toISOString();
  console.error(`preparing ${options.csrs} P-256 keys and CSRs…`);
  const requests = prepareRequests(options.csrs, setup.credentials);
  const machine = machineInfo();
  const command = commandLine();
  printHeader(machine, command, setup.server);

  const levels: LevelReport[] = [];
  let serverDied = false;
  for (const concurrency of options.concurrency) {
    console.error(`c=${concurrency}: ${options.warmupSeconds}s warm-up + ${options.durationSeconds}s measured…`);
    const run = await runLevel(setup.target, requests, {
      concurrency,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      verifySample: options.verifySample,
    });
    const level: LevelReport = { ...run.result, verification: verifySamples(run.samples, setup.target.rootPem, run.result.issued) };
    levels.push(level);
    for (const line of levelNotes(level)) console.log(line);
    const died = setup.embedded?.exitedEarly();
    if (died) {
      console.error(`${died}; stopping. Last server output:\n${setup.embedded!.output().slice(-4000)}`);
      serverDied = true;
      break;
    }
  }

  console.log(`\n${markdownTable(levels)}\n`);
  const ledgerRows = setup.embedded?.ledgerRows;
  if (ledgerRows) await reportLedgerLag(ledgerRows, levels);
  const ok = !serverDied && levels.every((l) => l.verification.failed === 0);
  const report: BenchReport = {
    startedAt,
    machine,
    command,
    server: setup.server,
    settings: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      csrs: options.csrs,
      credentials: setup.credentials.length,
      verifySample: options.verifySample,
    },
    levels,
    ok,
  };
  if (options.jsonFile) {
    writeJson(options.jsonFile, report);
    console.log(`results written to ${options.jsonFile}`);
  }
  if (!ok) console.error('FAILED: see the verification notes above');
  return ok ? 0 : 1;
}

/** Production mode: how long after the load stops until every certificate issued is in the ledger. */
async function reportLedgerLag(rows: () => Promise<number>, levels: readonly LevelReport[]): Promise<void> {
  const stopped = performance.now();
  // Every 201 counted or not (warm-up); answers after the deadline may add a few more.
  const issued = levels.reduce((n, l) => n + l.issued + l.uncounted.warmup, 0);
  let seen = await rows();
  while (seen < issued && performance.now() - stopped < 120_000) {
    await new Promise((r) => setTimeout(r, 100));
    seen = await rows();
  }
  console.log(
    `ledger: ${seen} rows for at least ${issued} certificates issued (warm-up included); caught up ${((performance.now() - stopped) / 1000).toFixed(1)} s after the load stopped`,
  );
}

async function prepareTarget(options: BenchOptions): Promise<Setup> {
  const s = options.server;
  if (s.kind === 'remote') {
    const tokens = readTokenFile(s.tokensFile);
    return {
      target: { url: s.url, rootPem: readFileSync(s.caFile, 'utf8'), serverPid: null },
      credentials: tokens.map((t) => credentialFromToken(t, options.trustDomain)),
      server: { mode: 'remote', url: s.url.href, workers: null, workersRequested: null },
      embedded: null,
    };
  }
  console.error('starting embedded workload-ca…');
  const server = await startEmbeddedServer({
    workers: s.workers,
    trustDomain: options.trustDomain,
    cpuProfDir: s.cpuProfDir,
    production: s.production,
  });
  cleanup = server.stop;
  try {
    console.error(`minting ${s.identities} development tokens…`);
    const credentials = await mintCredentials(server, s.identities, options.trustDomain);
    return {
      target: { url: server.url, rootPem: server.rootPem, serverPid: server.pid },
      credentials,
      server: { mode: s.production ? 'production' : 'embedded', url: server.url.href, workers: server.workers, workersRequested: s.workers },
      embedded: server,
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}

/** Ctrl-C must not leave a server running or a temporary CA on disk. */
function stopOnSignals(): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    console.error(`\n${signal}: stopping the embedded server and removing its data…`);
    void (cleanup?.() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(`bench: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  },
);
