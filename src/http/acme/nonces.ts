// Replay nonces (RFC 8555 §6.5). A nonce is minted without any storage: a timestamp and random
// bytes, authenticated with a key every replica derives from the same secret of its own (never
// from the CA key: acme.nonceKeyFile), so any replica can tell its siblings' nonces from forgeries. Single use is enforced when a nonce is spent, by claiming
// it once in the shared state (Redis, or the embedded primary).

import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SharedState } from './shared-state.js';

const RANDOM_BYTES = 12;
const MAC_BYTES = 16;
const TIME_BYTES = 6;
const NONCE_BYTES = TIME_BYTES + RANDOM_BYTES + MAC_BYTES;

export type SpendResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export class NonceMint {
  private readonly key: Buffer;

  constructor(
    secret: Uint8Array,
    private readonly state: SharedState,
    private readonly lifetimeMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'workload-ca acme replay-nonce v2', 32));
  }

  mint(): string {
    const body = Buffer.allocUnsafe(TIME_BYTES + RANDOM_BYTES);
    body.writeUIntBE(this.now(), 0, TIME_BYTES);
    randomBytes(RANDOM_BYTES).copy(body, TIME_BYTES);
    return Buffer.concat([body, this.mac(body)]).toString('base64url');
  }

  /** Checks the nonce was minted here and is fresh, then uses it up. */
  async spend(nonce: string): Promise<SpendResult> {
    const raw = /^[A-Za-z0-9_-]+$/.test(nonce) ? Buffer.from(nonce, 'base64url') : Buffer.alloc(0);
    if (raw.length !== NONCE_BYTES) return { ok: false, reason: 'the nonce was not issued by this server' };
    const body = raw.subarray(0, TIME_BYTES + RANDOM_BYTES);
    if (!timingSafeEqual(raw.subarray(TIME_BYTES + RANDOM_BYTES), this.mac(body))) {
      return { ok: false, reason: 'the nonce was not issued by this server' };
    }
    const age = this.now() - body.readUIntBE(0, TIME_BYTES);
    if (age > this.lifetimeMs || age < -60_000) return { ok: false, reason: 'the nonce has expired' };
    const first = await this.state.claimOnce(`nonce:${body.toString('base64url')}`, this.lifetimeMs - age + 60_000);
    return first ? { ok: true } : { ok: false, reason: 'the nonce has been used already' };
  }

  private mac(body: Buffer): Buffer {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, MAC_BYTES);
  }
}
