// Keeps one process's CRLs current and in memory. Every serving process runs one in production
// (the advisory lock lets one of them sign at a time); in the embedded mode the primary does, and
// its workers hold copies it pushes (crl-ipc.ts).
//
// A revocation this process hears of (the revocation feed) starts a look at once; a timer looks
// every few seconds anyway, which catches a missed message, a CRL another replica signed, and the
// renewal before nextUpdate. A request never touches the database.

import type { SqlClient } from '../ledger/sql.js';
import type { Signer } from '../pki/signer.js';
import { crlStates, isDue, readCrl, signIfDue, type CrlTiming, type PublishedCrl } from './crl-store.js';

/** What the HTTP route reads: the current CRL of an issuer, from memory. */
export interface CrlCatalog {
  current(issuerKeyId: string): PublishedCrl | null;
}

/** A catalog a serving process owns and stops. */
export interface CrlService extends CrlCatalog {
  close(): Promise<void>;
}

export interface CrlPublisherOptions {
  readonly db: SqlClient;
  /** The issuing CA this process signs CRLs for. */
  readonly signer: Signer;
  readonly timing: CrlTiming;
  readonly pollSeconds: number;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
  /** Called with each CRL this process loads that is newer than what it had. */
  readonly onLoaded?: (crl: PublishedCrl) => void;
  readonly now?: () => number;
}

/** Revocations that arrive together (an operator revoking a namespace) make one CRL. */
const COALESCE_MS = 200;
/** Another replica is signing: look again this soon, so its CRL is served here within seconds. */
const BUSY_RETRY_MS = 1_000;

export class CrlPublisher implements CrlService {
  private readonly cache = new Map<string, PublishedCrl>();
  private readonly issuerKeyId: string;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  private constructor(private readonly opts: CrlPublisherOptions) {
    this.issuerKeyId = opts.signer.keyId.toString('hex');
    this.now = opts.now ?? Date.now;
  }

  /**
   * Resolves after the first look: with this issuer's CRL loaded, unless the database could not
   * be read or another replica is signing the very first one (then it is served within seconds).
   */
  static async start(opts: CrlPublisherOptions): Promise<CrlPublisher> {
    const p = new CrlPublisher(opts);
    await p.look();
    // Unless the first look already asked to look again sooner (another replica was signing).
    if (p.timer === null) p.schedule(opts.pollSeconds * 1000);
    return p;
  }

  current(issuerKeyId: string): PublishedCrl | null {
    return this.cache.get(issuerKeyId) ?? null;
  }

  /** Every CRL held, for embedded workers starting up. */
  all(): PublishedCrl[] {
    return [...this.cache.values()];
  }

  /** A revocation was announced: look soon. */
  poke(): void {
    if (!this.closed) this.schedule(COALESCE_MS);
  }

  /** Looks now and resolves when done (tests, and callers that must see the result). */
  async refresh(): Promise<void> {
    await this.look();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Replaces any pending look with one after `ms`. */
  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.look().finally(() => {
        if (!this.closed && this.timer === null) this.schedule(this.opts.pollSeconds * 1000);
      });
    }, ms);
    this.timer.unref();
  }

  /** One look at a time; a look asked for while one runs runs after it. */
  private look(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.lookOnce().catch((err: Error) => this.opts.warn(`crl: ${err.message}`));
      } while (this.again && !this.closed);
    })().finally(() => (this.running = null));
    return this.running;
  }

  private async lookOnce(): Promise<void> {
    const { db, signer, timing } = this.opts;
    const now = this.now();
    let states = await crlStates(db);
    const mine = states.find((s) => s.issuerKeyId === this.issuerKeyId);
    if (isDue(mine, timing, now)) {
      const outcome = await signIfDue(db, signer, timing, now);
      if (outcome.kind === 'signed') {
        this.opts.info(`crl: signed CRL ${outcome.number} of issuer ${this.issuerKeyId} listing ${outcome.entries} certificate(s)`);
        states = await crlStates(db);
      } else if (outcome.kind === 'busy' && !this.closed) {
        this.schedule(BUSY_RETRY_MS);
      }
    }
    for (const s of states) {
      const had = this.cache.get(s.issuerKeyId);
      if (had && had.number >= s.number) continue;
      const crl = await readCrl(db, s.issuerKeyId);
      if (!crl || (had && had.number >= crl.number)) continue;
      this.cache.set(crl.issuerKeyId, crl);
      if (crl.nextUpdate.getTime() <= now) this.opts.warn(`crl: CRL ${crl.number} of issuer ${crl.issuerKeyId} is past its nextUpdate`);
      this.opts.onLoaded?.(crl);
    }
  }
}
