// The configuration schema is the one source of every setting's type, default, environment
// variable and README row: these tests hold each of those to it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_TLS_CIPHERS, loadConfig, type Config } from '../../src/config/config.js';
import { TABLES, withSettingsTables } from '../../src/config/readme.js';
import { SETTINGS, type Setting } from '../../src/config/settings.js';
import { scratchDir } from '../support/scratch.js';

const ROOT = resolve(import.meta.dirname, '../..');

function ok(env: NodeJS.ProcessEnv, cwd: string): Config {
  const r = loadConfig(env, cwd);
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.config;
}

function problems(env: NodeJS.ProcessEnv, cwd = '/srv'): string[] {
  const r = loadConfig(env, cwd);
  assert.equal(r.ok, false, 'expected the configuration to be refused');
  return r.ok ? [] : r.problems;
}

/** A file holding `text` as the configuration, in a fresh directory that is also the cwd. */
function configFile(text: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = scratchDir('wlca-config-');
  writeFileSync(join(dir, 'config.yaml'), text);
  return { dir, env: { WORKLOAD_CA_CONFIG: join(dir, 'config.yaml') } };
}

/** How an operator writes a value in the setting's environment variable. */
function envText(s: Setting, value: unknown): string {
  if (s.format === 'list') return (value as string[]).join(',');
  if (s.format === 'json' || (s.format === 'boolean-or-json' && typeof value === 'object')) return JSON.stringify(value);
  return String(value);
}

function nested(path: readonly string[], value: unknown): Record<string, unknown> {
  return path.reduceRight<Record<string, unknown>>((inner, key) => ({ [key]: inner }), value as Record<string, unknown>);
}

test('README.md carries every settings table exactly as the schema writes it (npm run docs:config)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const written = withSettingsTables(readme);
  assert.ok(written.ok, !written.ok ? written.problem : '');
  assert.equal(readme, written.text, 'README.md settings tables differ from the schema: run npm run docs:config');
  for (const name of Object.keys(TABLES)) assert.match(readme, new RegExp(`<!-- settings table: ${name}\\b`), `README.md lacks the ${name} table`);
  // Every setting is in exactly one table, so none is undocumented.
  for (const s of SETTINGS) assert.equal(Object.values(TABLES).filter((t) => t(s)).length, 1, s.key);
});

test('a README whose table was edited by hand is told apart from the written one', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const edited = readme.replace('| `listen.port` | `WORKLOAD_CA_PORT` | `8443` |', '| `listen.port` | `WORKLOAD_CA_PORT` | `9443` |');
  assert.notEqual(edited, readme, 'the row this test edits is in README.md');
  const written = withSettingsTables(edited);
  assert.ok(written.ok);
  assert.notEqual(written.text, edited);
  assert.equal(written.text, readme);
});

test('every setting has its own environment variable, and every variable of before is still read', () => {
  const names = SETTINGS.map((s) => s.env);
  assert.equal(new Set(names).size, names.length, 'an environment variable names two settings');
  for (const n of names) assert.match(n, /^(WORKLOAD_CA_[A-Z0-9_]+|DATABASE_URL|REDIS_URL)$/);
  const before = [
    'WORKLOAD_CA_HOST',
    'WORKLOAD_CA_PORT',
    'WORKLOAD_CA_DATA_DIR',
    'WORKLOAD_CA_TRUST_DOMAIN',
    'WORKLOAD_CA_WORKERS',
    'WORKLOAD_CA_POLICY_FILE',
    'WORKLOAD_CA_KEY_PASSPHRASE_FILE',
    'WORKLOAD_CA_KEY_PASSPHRASE',
    'WORKLOAD_CA_TLS_DNS_NAMES',
    'WORKLOAD_CA_TLS_CIPHERS',
    'WORKLOAD_CA_TLS_HANDSHAKE_TIMEOUT_MS',
    'WORKLOAD_CA_HEADERS_TIMEOUT_MS',
    'WORKLOAD_CA_REQUEST_TIMEOUT_MS',
    'WORKLOAD_CA_KEEP_ALIVE_TIMEOUT_MS',
    'WORKLOAD_CA_CONNECTIONS_CHECK_INTERVAL_MS',
    'WORKLOAD_CA_DEV_TOKEN_ISSUER',
    'WORKLOAD_CA_LOG_LEVEL',
    'DATABASE_URL',
    'REDIS_URL',
    'WORKLOAD_CA_REDIS_PREFIX',
    'WORKLOAD_CA_ADMIN_TOKEN_FILE',
    'WORKLOAD_CA_ADMIN_TOKEN',
    'WORKLOAD_CA_WORKER_CONCURRENCY',
    'WORKLOAD_CA_WORKER_METRICS_PORT',
    'WORKLOAD_CA_EST_USERS_FILE',
    'WORKLOAD_CA_ACME_EAB_REQUIRED',
    'WORKLOAD_CA_ACME_TERMS_OF_SERVICE',
    'WORKLOAD_CA_ACME_PUBLIC_URL',
    'WORKLOAD_CA_ACME_HTTP01_PORT',
    'WORKLOAD_CA_ACME_TLSALPN01_PORT',
    'WORKLOAD_CA_ACME_RESOLVER',
    'WORKLOAD_CA_ACME_ALLOWED_NETWORKS',
    'WORKLOAD_CA_ACME_DENIED_NETWORKS',
    'WORKLOAD_CA_ACME_NEW_ORDERS_PER_HOUR',
    'WORKLOAD_CA_ACME_FAILED_VALIDATIONS_PER_HOUR',
  ];
  for (const n of before) assert.ok(names.includes(n), `${n} is no longer read`);
});

test('the defaults are the ones the CA always had', () => {
  const d = (p: string) => join('/srv/data', p);
  const expected: Config = {
    listen: { host: '127.0.0.1', port: 8443 },
    dataDir: '/srv/data',
    trustDomain: 'workload-ca.test',
    workers: availableParallelism(),
    policyFile: d('policy.yaml'),
    ca: {
      rootCert: d('ca/root-ca.pem'),
      issuingCert: d('ca/issuing-ca.pem'),
      issuingKey: d('ca/issuing-ca.key'),
      signer: 'file',
      allowUnencryptedKey: false,
      pkcs11: null,
    },
    tls: {
      cert: d('tls/server.pem'),
      key: d('tls/server.key'),
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      ciphers: DEFAULT_TLS_CIPHERS,
    },
    connections: { handshakeTimeoutMs: 8000, headersTimeoutMs: 8000, requestTimeoutMs: 30000, keepAliveTimeoutMs: 65000, checkIntervalMs: 1000 },
    tokenIssuers: [],
    devTokenIssuer: {
      issuer: 'https://token-issuer.workload-ca.test',
      audience: 'workload-ca',
      dir: d('dev-token-issuer'),
      maxTokenLifetimeSeconds: 86400,
    },
    limits: { bodyBytes: 65536 },
    logLevel: 'info',
    databaseUrl: null,
    redisUrl: null,
    redisPrefix: 'workload-ca',
    admin: { token: null, tokenFile: d('admin-token') },
    ui: { sessionKeyFile: d('ui-session-key'), sessionMinutes: 30 },
    worker: { concurrency: 8, metricsHost: '127.0.0.1', metricsPort: 9464 },
    est: {
      usersFile: d('est-users.json'),
      basicCacheSeconds: 300,
      passwordHashConcurrency: 1,
      trustAnchors: [],
      trustRegistrationAuthorities: false,
      labels: {},
    },
    acme: {
      nonceKeyFile: d('ca/acme-nonce.key'),
      externalAccountRequired: true,
      termsOfService: null,
      publicUrl: null,
      validation: {
        http01Port: 80,
        tlsAlpn01Port: 443,
        resolver: null,
        timeoutMs: 10000,
        answerWithinMs: 500,
        allowedNetworks: [],
        deniedNetworks: [],
        maxRedirects: 10,
        maxResponseBytes: 8192,
      },
      authorizationReuseSeconds: 86400,
      orderLifetimeSeconds: 3600,
      nonceLifetimeSeconds: 3600,
      finalizeTimeoutSeconds: 60,
      rateLimits: { newOrdersPerHour: 300, failedValidationsPerHour: 60 },
    },
    crl: { publicUrl: null, validitySeconds: 86400, renewBeforeSeconds: 43200, pollSeconds: 5, maxAgeSeconds: 300 },
  };
  assert.deepEqual(ok({}, '/srv'), expected);
  // Production: no development issuer and no admin token file unless asked for.
  const prod = ok({ DATABASE_URL: 'postgres://db/ca', REDIS_URL: 'redis://r:6379' }, '/srv');
  assert.equal(prod.devTokenIssuer, null);
  assert.equal(prod.admin.tokenFile, null);
});

test('every setting can be set from the file and from the environment, to the same effect', () => {
  const dir = scratchDir('wlca-config-');
  writeFileSync(join(dir, 'passphrase'), 'from a file\n');
  writeFileSync(join(dir, 'hsm-pin'), '9876\n');
  // The HSM settings only count together: each is tried over a complete set of other values.
  const hsm = (signer: string) => ({
    ca: { signer, pkcs11: { module: '/opt/hsm/lib.so', tokenLabel: 'base', keyLabel: 'base-key', keyId: 'ff', pin: '0000' } },
  });
  const baseOf = (key: string) => (key === 'ca.signer' ? hsm('file') : key.startsWith('ca.pkcs11.') ? hsm('pkcs11') : {});
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const both = typeof v === 'object' && v !== null && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null;
      out[k] = both ? merge(out[k] as Record<string, unknown>, v as Record<string, unknown>) : v;
    }
    return out;
  };
  for (const s of SETTINGS) {
    const example = s.examples[0];
    const base = baseOf(s.key);
    writeFileSync(join(dir, 'base.yaml'), toYaml(base));
    writeFileSync(join(dir, 'config.yaml'), toYaml(merge(base, nested(s.path, example))));
    const defaults = ok({ WORKLOAD_CA_CONFIG: join(dir, 'base.yaml') }, dir);
    const fromFile = ok({ WORKLOAD_CA_CONFIG: join(dir, 'config.yaml') }, dir);
    const fromEnv = ok({ WORKLOAD_CA_CONFIG: join(dir, 'base.yaml'), [s.env]: envText(s, example) }, dir);
    assert.deepEqual(fromEnv, fromFile, `${s.key} and ${s.env} disagree`);
    assert.notDeepEqual(fromFile, defaults, `${s.key}: its example is its default, so this test would prove nothing`);
  }
});

test('the environment wins over the file, and only the env parameter is read, never process.env', () => {
  const { dir, env } = configFile('listen: { port: 9000 }\nadminToken: from-the-file\n');
  assert.equal(ok({ ...env, WORKLOAD_CA_PORT: '9001' }, dir).listen.port, 9001);
  assert.equal(ok(env, dir).admin.token, 'from-the-file');
  const saved = { token: process.env.WORKLOAD_CA_ADMIN_TOKEN, pass: process.env.WORKLOAD_CA_KEY_PASSPHRASE };
  process.env.WORKLOAD_CA_ADMIN_TOKEN = 'leaked';
  process.env.WORKLOAD_CA_KEY_PASSPHRASE = 'leaked';
  try {
    const c = ok({}, '/srv');
    assert.equal(c.admin.token, null);
    assert.equal(c.ca.passphrase, undefined);
  } finally {
    if (saved.token === undefined) delete process.env.WORKLOAD_CA_ADMIN_TOKEN;
    else process.env.WORKLOAD_CA_ADMIN_TOKEN = saved.token;
    if (saved.pass === undefined) delete process.env.WORKLOAD_CA_KEY_PASSPHRASE;
    else process.env.WORKLOAD_CA_KEY_PASSPHRASE = saved.pass;
  }
});

test('a passphrase file wins over the passphrase itself; one that cannot be read is a problem naming it', () => {
  const { dir, env } = configFile('ca: { passphrase: inline }\n');
  writeFileSync(join(dir, 'pass'), 'from the file\n');
  assert.equal(ok(env, dir).ca.passphrase, 'inline');
  assert.equal(ok({ ...env, WORKLOAD_CA_KEY_PASSPHRASE_FILE: 'pass' }, dir).ca.passphrase, 'from the file');
  const [p, ...more] = problems({ WORKLOAD_CA_KEY_PASSPHRASE_FILE: 'missing' }, dir);
  assert.deepEqual(more, []);
  assert.match(p!, /^WORKLOAD_CA_KEY_PASSPHRASE_FILE cannot be read \(ENOENT\), got "missing" \(file key ca\.passphraseFile\)$/);
});

test('a bad value from the environment names the variable first and the file key after', () => {
  assert.deepEqual(problems({ WORKLOAD_CA_PORT: '70000' }), ['WORKLOAD_CA_PORT must be at most 65535, got 70000 (file key listen.port)']);
  assert.deepEqual(problems({ WORKLOAD_CA_WORKERS: 'many' }), [
    'WORKLOAD_CA_WORKERS must be a whole number from 1 to 256, or auto, got "many" (file key workers)',
  ]);
  // A typo in a yes/no variable is refused, not read as "no" (that would turn EAB off).
  assert.deepEqual(problems({ WORKLOAD_CA_ACME_EAB_REQUIRED: 'ture' }), [
    'WORKLOAD_CA_ACME_EAB_REQUIRED must be true or false (also 1/0, yes/no, on/off), got "ture" (file key acme.externalAccountRequired)',
  ]);
  assert.equal(problems({ WORKLOAD_CA_TOKEN_ISSUERS: '[{"issuer":' }).length, 1);
  assert.match(
    problems({ WORKLOAD_CA_TOKEN_ISSUERS: '[{"issuer":' })[0]!,
    /^WORKLOAD_CA_TOKEN_ISSUERS must be JSON \(.*\), got .* \(file key tokenIssuers\)$/,
  );
  assert.deepEqual(problems({ WORKLOAD_CA_TOKEN_ISSUERS: '[{"issuer":"https://idp","audiences":["ca"],"jwksUrl":"ftp://idp/jwks"}]' }), [
    'WORKLOAD_CA_TOKEN_ISSUERS: tokenIssuers[0].jwksUrl must match ^https?://, got "ftp://idp/jwks" (file key tokenIssuers)',
  ]);
  assert.equal(ok({ WORKLOAD_CA_ACME_EAB_REQUIRED: 'off' }, '/srv').acme.externalAccountRequired, false);
});

test('a bad value from the file names the key first and the variable after; every problem is listed', () => {
  const { dir, env } = configFile(
    'listen: { port: 70000, hots: x }\nbogus: 1\ndevTokenIssuer: { maxTokenLifetimeSeconds: 5 }\ntokenIssuers:\n  - { issuer: a, audiences: [b], jwksFile: f, jwksUrl: "https://x" }\nest: { labels: { "a b": {} } }\n',
  );
  const file = env.WORKLOAD_CA_CONFIG!;
  assert.deepEqual(problems(env, dir).sort(), [
    `bogus is not a setting (in ${file})`,
    `devTokenIssuer.maxTokenLifetimeSeconds must be at least 60, got 5 (in ${file}; environment WORKLOAD_CA_DEV_TOKEN_ISSUER)`,
    `est.labels.a b is not a valid name (must match ^[A-Za-z0-9_-]{1,64}$) (in ${file}; environment WORKLOAD_CA_EST_LABELS)`,
    `listen.hots is not a setting (in ${file})`,
    `listen.port must be at most 65535, got 70000 (in ${file}; environment WORKLOAD_CA_PORT)`,
    `tokenIssuers[0] must be an issuer with exactly one of jwksFile and jwksUrl (in ${file}; environment WORKLOAD_CA_TOKEN_ISSUERS)`,
  ]);
});

test('a file that is not a mapping, not YAML or not there is one problem, not an exception', () => {
  const list = configFile('- a\n');
  assert.deepEqual(problems(list.env, list.dir), [`the configuration file must be a mapping of keys to values (in ${list.env.WORKLOAD_CA_CONFIG})`]);
  const broken = configFile('listen: [\n');
  assert.match(problems(broken.env, broken.dir)[0]!, /^the configuration file is not valid YAML: .* \(in .*config\.yaml\)$/);
  assert.deepEqual(problems({ WORKLOAD_CA_CONFIG: 'nowhere.yaml' }, '/srv'), ['the configuration file cannot be read (ENOENT) (in nowhere.yaml)']);
});

test('a secret is never echoed in a problem', () => {
  const { dir, env } = configFile('adminToken: 123456789\nca: { passphrase: "" }\n');
  const found = problems(env, dir);
  assert.equal(found.length, 2, found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('adminToken must be text (')));
  assert.ok(found.some((p) => p.startsWith('ca.passphrase must not be empty (')));
  for (const p of found) assert.doesNotMatch(p, /123456789|got/);
});

test('ca.signer pkcs11 needs the module, the token, the key and a PIN, and names what is missing', () => {
  const found = problems({ WORKLOAD_CA_SIGNER: 'pkcs11', WORKLOAD_CA_PKCS11_KEY_ID: '0A' });
  assert.equal(found.length, 3, found.join('\n'));
  assert.ok(found.some((p) => p.startsWith('ca.pkcs11.module is required when ca.signer is pkcs11')));
  assert.ok(found.some((p) => p.startsWith('ca.pkcs11.tokenLabel is required')));
  assert.ok(found.some((p) => p.startsWith('ca.pkcs11.pinFile is required')));
  const dir = scratchDir('wlca-config-');
  writeFileSync(join(dir, 'pin'), '4321\n');
  const c = ok(
    {
      WORKLOAD_CA_SIGNER: 'pkcs11',
      WORKLOAD_CA_PKCS11_MODULE: 'lib/p11.so',
      WORKLOAD_CA_PKCS11_TOKEN_LABEL: 't',
      WORKLOAD_CA_PKCS11_KEY_ID: '0A',
      WORKLOAD_CA_PKCS11_PIN_FILE: 'pin',
    },
    dir,
  );
  assert.deepEqual(c.ca.pkcs11, { module: join(dir, 'lib/p11.so'), tokenLabel: 't', keyLabel: null, keyId: '0a', pin: '4321' });
  assert.equal(ok({}, dir).ca.pkcs11, null);
});
