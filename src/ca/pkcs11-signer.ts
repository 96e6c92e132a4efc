// The issuing key in an HSM, through its PKCS#11 library (the `pkcs11js` binding, chosen by
// measurement: see BENCHMARKS.md). The key never leaves the token: this process holds a handle
// and a few sessions, hashes the to-be-signed bytes with SHA-256 itself and asks the token for a
// raw CKM_ECDSA signature (every HSM has that mechanism; SoftHSM2 has no CKM_ECDSA_SHA256), which
// it re-encodes as DER. Signing is asynchronous (the binding's thread pool), with up to
// SESSIONS signatures in flight, one per session, since a session runs one operation at a time.

import { createHash, createPublicKey, verify, X509Certificate } from 'node:crypto';
import type * as Pkcs11Binding from 'pkcs11js';
import type { PKCS11 } from 'pkcs11js';
import type { Pkcs11Config } from '../config/types.js';
import { keyIdentifier } from '../pki/certificate.js';
import { publicKeyBits, spkiDer } from '../pki/keys.js';
import { ecdsaSignatureDer, type Signer } from '../pki/signer.js';

type Binding = typeof Pkcs11Binding;
type Handle = Buffer;

/** Signatures in flight at once: enough to keep a token busy from one process. */
const SESSIONS = 4;
/** DER of the prime256v1 OID, CKA_EC_PARAMS of a P-256 key. */
const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex');
const CKR_USER_ALREADY_LOGGED_IN = 0x100;

async function binding(): Promise<Binding> {
  try {
    return ((await import('pkcs11js')) as unknown as { default: Binding }).default;
  } catch (err) {
    throw new Error(
      `the PKCS#11 signer needs the optional dependency pkcs11js, a native addon built at install (npm rebuild pkcs11js): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** One C_Initialize per library per process, however many signers use it (a rotation opens a second). */
const loaded = new Map<string, { lib: PKCS11; users: number }>();

function useModule(b: Binding, path: string): PKCS11 {
  const entry = loaded.get(path);
  if (entry) {
    entry.users++;
    return entry.lib;
  }
  const lib = new b.PKCS11();
  try {
    lib.load(path);
    // The binding signs on libuv's threads: the library must lock for itself.
    lib.C_Initialize({ flags: b.CKF_OS_LOCKING_OK });
  } catch (err) {
    throw new Error(`cannot load the PKCS#11 library ${path}: ${(err as Error).message}`, { cause: err });
  }
  loaded.set(path, { lib, users: 1 });
  return lib;
}

function releaseModule(path: string): void {
  const entry = loaded.get(path);
  if (!entry || --entry.users > 0) return;
  loaded.delete(path);
  entry.lib.C_Finalize();
  entry.lib.close();
}

/** A logged-in token: the session that holds the login, and the library it came from. */
interface Token {
  readonly b: Binding;
  readonly lib: PKCS11;
  readonly slot: Handle;
  readonly session: Handle;
  close(): void;
}

async function openToken(cfg: Pkcs11Config, readWrite: boolean): Promise<Token> {
  const b = await binding();
  const lib = useModule(b, cfg.module);
  try {
    const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trim() === cfg.tokenLabel);
    if (slot === undefined) throw new Error(`no token labelled ${JSON.stringify(cfg.tokenLabel)} in ${cfg.module}`);
    const session = lib.C_OpenSession(slot, b.CKF_SERIAL_SESSION | (readWrite ? b.CKF_RW_SESSION : 0));
    try {
      lib.C_Login(session, b.CKU_USER, cfg.pin);
    } catch (err) {
      // Login is per application: a second signer on the same token finds it done.
      if ((err as { code?: number }).code !== CKR_USER_ALREADY_LOGGED_IN) {
        lib.C_CloseSession(session);
        throw new Error(`cannot log in to token ${JSON.stringify(cfg.tokenLabel)}: ${(err as Error).message}`, { cause: err });
      }
    }
    return {
      b,
      lib,
      slot,
      session,
      close: () => {
        lib.C_CloseSession(session);
        releaseModule(cfg.module);
      },
    };
  } catch (err) {
    releaseModule(cfg.module);
    throw err;
  }
}

/** What names the key in the token: its label, its CKA_ID, or both. */
function keyTemplate(t: Token, cfg: Pkcs11Config, cls: number) {
  return [
    { type: t.b.CKA_CLASS, value: cls },
    { type: t.b.CKA_KEY_TYPE, value: t.b.CKK_EC },
    ...(cfg.keyLabel === null ? [] : [{ type: t.b.CKA_LABEL, value: cfg.keyLabel }]),
    ...(cfg.keyId === null ? [] : [{ type: t.b.CKA_ID, value: Buffer.from(cfg.keyId, 'hex') }]),
  ];
}

function findObjects(t: Token, template: ReturnType<typeof keyTemplate>): Handle[] {
  t.lib.C_FindObjectsInit(t.session, template);
  try {
    return t.lib.C_FindObjects(t.session, 2);
  } finally {
    t.lib.C_FindObjectsFinal(t.session);
  }
}

function describeKey(cfg: Pkcs11Config): string {
  const parts = [cfg.keyLabel === null ? null : `label ${JSON.stringify(cfg.keyLabel)}`, cfg.keyId === null ? null : `id ${cfg.keyId}`];
  return `EC key with ${parts.filter((p) => p !== null).join(' and ')} in token ${JSON.stringify(cfg.tokenLabel)}`;
}

/** Sessions for signing, one operation each at a time; a caller waits for a free one. */
class SessionPool {
  private readonly free: Handle[] = [];
  private readonly waiting: ((s: Handle) => void)[] = [];

  constructor(
    private readonly open: () => Handle,
    private readonly closeOne: (s: Handle) => void,
    size: number,
  ) {
    for (let i = 0; i < size; i++) this.free.push(open());
  }

  acquire(): Handle | Promise<Handle> {
    return this.free.pop() ?? new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Returns a session; one whose operation failed is replaced, since it may still hold that operation. */
  release(session: Handle, broken: boolean): void {
    let s = session;
    if (broken) {
      this.closeOne(session);
      s = this.open();
    }
    const next = this.waiting.shift();
    if (next) next(s);
    else this.free.push(s);
  }

  closeAll(): void {
    for (const s of this.free.splice(0)) this.closeOne(s);
  }
}

/** Opens the signer for the key the configuration names, after checking it signs for `certificateDer`. */
export async function openPkcs11Signer(cfg: Pkcs11Config, certificateDer: Buffer): Promise<Signer> {
  const token = await openToken(cfg, false);
  try {
    const found = findObjects(token, keyTemplate(token, cfg, token.b.CKO_PRIVATE_KEY));
    if (found.length !== 1) throw new Error(`found ${found.length === 0 ? 'no' : 'more than one'} ${describeKey(cfg)}`);
    const key = found[0]!;
    const { b, lib } = token;
    const pool = new SessionPool(
      () => lib.C_OpenSession(token.slot, b.CKF_SERIAL_SESSION),
      (s) => lib.C_CloseSession(s),
      SESSIONS,
    );
    const sign = async (data: Uint8Array): Promise<Buffer> => {
      const digest = createHash('sha256').update(data).digest();
      const session = await pool.acquire();
      let broken = true;
      try {
        lib.C_SignInit(session, { mechanism: b.CKM_ECDSA }, key);
        const raw = await lib.C_SignAsync(session, digest, Buffer.alloc(132));
        broken = false;
        return ecdsaSignatureDer(raw);
      } finally {
        pool.release(session, broken);
      }
    };

    const certificate = new X509Certificate(certificateDer);
    // A wrong key would sign certificates nobody can verify: prove the pair once, now.
    const probe = Buffer.from(`workload-ca key check ${Date.now()}`);
    if (!verify('sha256', probe, { key: certificate.publicKey, dsaEncoding: 'der' }, await sign(probe))) {
      pool.closeAll();
      throw new Error(`the ${describeKey(cfg)} does not match the issuing certificate`);
    }
    const spki = spkiDer(certificate.publicKey);
    return {
      certificateDer,
      spki,
      keyId: keyIdentifier(publicKeyBits(spki)),
      sign,
      close: async () => {
        pool.closeAll();
        token.close();
      },
    };
  } catch (err) {
    token.close();
    throw err;
  }
}

/**
 * Generates a P-256 key pair inside the token (sensitive, never extractable), named by the
 * configured label and id; returns its public key as SPKI DER. Refuses if such a key exists.
 */
export async function generatePkcs11Key(cfg: Pkcs11Config): Promise<Buffer> {
  const token = await openToken(cfg, true);
  const { b, lib } = token;
  try {
    if (findObjects(token, keyTemplate(token, cfg, b.CKO_PRIVATE_KEY)).length > 0) {
      throw new Error(`refusing to overwrite the ${describeKey(cfg)}`);
    }
    const naming = [
      ...(cfg.keyLabel === null ? [] : [{ type: b.CKA_LABEL, value: cfg.keyLabel }]),
      ...(cfg.keyId === null ? [] : [{ type: b.CKA_ID, value: Buffer.from(cfg.keyId, 'hex') }]),
    ];
    const pair = lib.C_GenerateKeyPair(
      token.session,
      { mechanism: b.CKM_EC_KEY_PAIR_GEN },
      [{ type: b.CKA_TOKEN, value: true }, { type: b.CKA_VERIFY, value: true }, { type: b.CKA_EC_PARAMS, value: P256_PARAMS }, ...naming],
      [
        { type: b.CKA_TOKEN, value: true },
        { type: b.CKA_PRIVATE, value: true },
        { type: b.CKA_SIGN, value: true },
        { type: b.CKA_SENSITIVE, value: true },
        { type: b.CKA_EXTRACTABLE, value: false },
        ...naming,
      ],
    );
    const [point] = lib.C_GetAttributeValue(token.session, pair.publicKey, [{ type: b.CKA_EC_POINT }]);
    return spkiOfPoint(point!.value as Buffer);
  } finally {
    token.close();
  }
}

/** CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (some tokens give it bare). */
function spkiOfPoint(value: Buffer): Buffer {
  const point = value.length === 67 && value[0] === 0x04 && value[1] === 65 ? value.subarray(2) : value;
  if (point.length !== 65 || point[0] !== 0x04) throw new Error('the token returned an EC point that is not an uncompressed P-256 point');
  const jwk = { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
  return spkiDer(createPublicKey({ key: jwk, format: 'jwk' }));
}
