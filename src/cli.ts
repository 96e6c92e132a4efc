// The `workload-ca` command line: serve | worker | init | migrate | policy check | token | acme eab | est user | revoke | inventory.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initCa } from './ca/ceremony.js';
import { loadConfig, type Config } from './config/config.js';
import { mintDevToken } from './dev/token-issuer.js';
import { formatProblems, loadPolicyFile } from './issuance/policy-store.js';
import { migrate, readMigrations } from './ledger/migrate.js';
import { openEmbeddedLedger } from './ledger/pglite.js';
import { openPostgresLedger } from './ledger/postgres.js';
import { runWorker } from './server/worker.js';
import { newEabKey } from './http/acme/eab.js';
import { SqlAcmeStore } from './http/acme/sql-store.js';
import { createEabKeyViaServer } from './server/admin-client.js';
import { revokeCommand } from './server/revoke-command.js';
import { inventoryCommand } from './server/inventory-command.js';
import { eabRevokeCommand } from './server/eab-revoke-command.js';
import { estCommand } from './http/est/user-command.js';
import { MIGRATIONS_DIR, serve } from './server/serve.js';
import { PRIVATE_UMASK } from './files/private-data.js';

const USAGE = `usage: workload-ca <command>

  serve                                 start the CA (embedded mode unless DATABASE_URL/REDIS_URL are set)
  worker                                write audit events from the Redis queue into the Postgres ledger
  init DIR [--trust-domain TD] [--organization O] [--passphrase-file F] [--pkcs11]
                                        create a root CA and an issuing CA (ECDSA P-256) in DIR, the
                                        root key apart in DIR/root (keep it offline), and the ACME
                                        nonce key; keys are encrypted when a passphrase is given (the
                                        file, or WORKLOAD_CA_KEY_PASSPHRASE); --pkcs11 makes the
                                        issuing key inside the HSM token of the ca.pkcs11 settings
  migrate                               apply the ledger migrations (Postgres with DATABASE_URL, else embedded)
  policy check FILE                     validate a policy; lists every problem with its line
  token --namespace NS --service-account SA [--ttl SECONDS]
                                        development mode: print a service-account-shaped token
  acme eab create --binding NAME        create an ACME external account binding key; prints the
                                        key id and HMAC key for the VM's ACME client (Postgres with
                                        DATABASE_URL, else through the running embedded server)
  acme eab revoke KEY_ID [--deactivate-accounts [--revoke-certificates [--reason N]]]
         [--requested-by NOTE] [--server URL]
                                        stop a key from binding new accounts; optionally revoke
                                        the accounts it bound and their live certificates
  revoke --serial HEX | --spiffe-id ID | --prefix SPIFFE_ID_PREFIX | --requester KIND:ID
         | --eab-binding NAME | --eab-key KEY_ID [--reason N] [--dry-run]
         [--requested-by NOTE] [--server URL]
                                        revoke live certificates (RFC 5280 reason, default 0)
                                        through the admin API of the running CA
  inventory ls | show SERIAL | stats | denials [filters] [--json] [--server URL]
                                        the inventory API in the terminal, as tables
  est user add NAME | remove NAME | list
                                        EST HTTP Basic bootstrap credentials (scrypt-hashed); the
                                        password comes from WORKLOAD_CA_EST_PASSWORD or stdin

Configuration comes from WORKLOAD_CA_CONFIG (a YAML file) and WORKLOAD_CA_* variables; see README.`;

type Exit = number;

function config(): Config {
  const loaded = loadConfig();
  if (!loaded.ok) {
    console.error(`configuration is invalid:\n  ${loaded.problems.join('\n  ')}`);
    process.exit(2);
  }
  return loaded.config;
}

async function init(args: string[]): Promise<Exit> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'trust-domain': { type: 'string' },
      organization: { type: 'string' },
      'passphrase-file': { type: 'string' },
      pkcs11: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) {
    console.error('usage: workload-ca init DIR [--trust-domain TD] [--organization O] [--passphrase-file F] [--pkcs11]');
    return 2;
  }
  // The HSM is the one serve will use: the same settings name the token and the key.
  const pkcs11 = values.pkcs11 ? config().ca.pkcs11 : null;
  if (values.pkcs11 && pkcs11 === null) {
    console.error(
      'init: --pkcs11 needs ca.signer: pkcs11 and its ca.pkcs11 settings (WORKLOAD_CA_SIGNER=pkcs11, WORKLOAD_CA_PKCS11_MODULE, _TOKEN_LABEL, _KEY_LABEL or _KEY_ID, _PIN_FILE)',
    );
    return 2;
  }
  // Without --passphrase-file, the one the CA will serve with (ca.passphraseFile, ca.passphrase).
  const passphrase = values['passphrase-file'] ? readFileSync(values['passphrase-file'], 'utf8').trimEnd() : config().ca.passphrase;
  const result = await initCa(positionals[0]!, {
    trustDomain: values['trust-domain'] ?? config().trustDomain,
    ...(values.organization ? { organization: values.organization } : {}),
    ...(passphrase ? { passphrase } : {}),
    ...(pkcs11 ? { pkcs11 } : {}),
  });
  if (!result.ok) {
    console.error(`init: ${result.reason}`);
    return 1;
  }
  const p = result.paths;
  const issuingKey = pkcs11 ? `in token ${JSON.stringify(pkcs11.tokenLabel)}, not extractable` : p.issuingKey;
  console.log(`root CA:    ${p.rootCert} (key ${p.rootKey})\nissuing CA: ${p.issuingCert} (key ${issuingKey})\nACME nonce key: ${p.nonceKey}`);
  console.log(passphrase ? 'key files are encrypted PKCS#8 (mode 0600)' : 'key files are unencrypted PKCS#8 (mode 0600)');
  console.log(`move ${join(p.rootKey, '..')} offline: serving never reads the root key`);
  return 0;
}

function policyCheck(args: string[]): Exit {
  if (args[0] !== 'check' || args.length !== 2) {
    console.error('usage: workload-ca policy check FILE');
    return 2;
  }
  const file = args[1]!;
  const loaded = loadPolicyFile(file);
  if (!loaded.ok) {
    console.error(formatProblems(file, loaded.problems));
    console.error(`${file}: ${loaded.problems.length} problem${loaded.problems.length === 1 ? '' : 's'}`);
    return 1;
  }
  console.log(`${file}: valid (${loaded.policy.hash}, ${loaded.policy.rules.length} rules)`);
  return 0;
}

async function token(args: string[]): Promise<Exit> {
  const { values } = parseArgs({
    args,
    options: {
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      ttl: { type: 'string', default: '600' },
    },
  });
  const ttl = Number(values.ttl);
  if (!values.namespace || !values['service-account'] || !Number.isInteger(ttl) || ttl <= 0) {
    console.error('usage: workload-ca token --namespace NS --service-account SA [--ttl SECONDS]');
    return 2;
  }
  const cfg = config();
  if (!cfg.devTokenIssuer) {
    console.error("token: the development token issuer is off (production mode); use your cluster's service-account tokens");
    return 1;
  }
  // A token the CA would refuse is no use to anyone: say so here rather than with a 401 later.
  if (ttl > cfg.devTokenIssuer.maxTokenLifetimeSeconds) {
    console.error(
      `token: --ttl ${ttl} exceeds the development issuer's maximum token lifetime of ${cfg.devTokenIssuer.maxTokenLifetimeSeconds} s (devTokenIssuer.maxTokenLifetimeSeconds)`,
    );
    return 2;
  }
  console.log(
    await mintDevToken(cfg.devTokenIssuer.dir, {
      issuer: cfg.devTokenIssuer.issuer,
      audience: cfg.devTokenIssuer.audience,
      namespace: values.namespace,
      serviceAccount: values['service-account'],
      ttlSeconds: ttl,
    }),
  );
  return 0;
}

async function migrateCommand(): Promise<Exit> {
  const cfg = config();
  const db =
    cfg.databaseUrl !== null
      ? openPostgresLedger(cfg.databaseUrl, { max: 1, applicationName: 'workload-ca migrate' })
      : await openEmbeddedLedger(join(cfg.dataDir, 'ledger'));
  const applied = await migrate(db, readMigrations(MIGRATIONS_DIR));
  await db.close();
  console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'ledger schema is up to date');
  return 0;
}

async function acmeCommand(args: string[]): Promise<Exit> {
  const [group, verb, ...rest] = args;
  if (group === 'eab' && verb === 'revoke') return eabRevokeCommand(rest, config);
  const { values, positionals } = parseArgs({ args: rest, options: { binding: { type: 'string' } }, allowPositionals: true });
  const create = verb === 'create' && values.binding !== undefined && positionals.length === 0;
  if (group !== 'eab' || !create) {
    console.error('usage: workload-ca acme eab create --binding NAME\n       workload-ca acme eab revoke KEY_ID');
    return 2;
  }
  const cfg = config();
  // With Postgres the CLI writes the rows itself; the embedded ledger belongs to the running server.
  const direct = cfg.databaseUrl === null ? null : openPostgresLedger(cfg.databaseUrl, { max: 1, applicationName: 'workload-ca acme eab' });
  try {
    let key: { keyId: string; hmacKey: string; binding: string };
    if (direct) {
      const k = newEabKey(values.binding!);
      await new SqlAcmeStore(direct).createEabKey(k);
      key = k;
    } else {
      key = await createEabKeyViaServer(cfg, values.binding!);
    }
    console.log(`binding:  ${key.binding}\nkey id:   ${key.keyId}\nhmac key: ${key.hmacKey}`);
    // '=' keeps a key that begins with '-' (base64url) from being read as an option.
    console.log(`\ncertbot: --eab-kid=${key.keyId} --eab-hmac-key=${key.hmacKey}`);
    console.log(`lego:    --eab --kid=${key.keyId} --hmac=${key.hmacKey}`);
    return 0;
  } finally {
    await direct?.close();
  }
}

async function main(argv: string[]): Promise<Exit> {
  // Every file this process or any library in it creates (keys, ledger, EAB keys) is private,
  // whatever umask the CA was started with; cluster workers run this too.
  process.umask(PRIVATE_UMASK);
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(config());
      return 0;
    case 'worker':
      await runWorker(config());
      return 0;
    case 'init':
      return init(rest);
    case 'migrate':
      return migrateCommand();
    case 'policy':
      return policyCheck(rest);
    case 'token':
      return token(rest);
    case 'acme':
      return acmeCommand(rest);
    case 'est':
      return estCommand(rest, config().est.usersFile);
    case 'revoke':
      return revokeCommand(rest, config);
    case 'inventory':
      return inventoryCommand(rest, config);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: Error) => {
    console.error(`workload-ca: ${err.message}`);
    process.exitCode = 1;
  },
);
