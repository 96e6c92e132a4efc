// Runs a challenge's validation in the background of the replica that received the request and
// writes the outcome. If that replica dies mid-validation, the challenge stays `processing` with
// an old start time, and whichever replica next sees it (a client polling the authorization, or
// responding again) takes it over.

import type { FastifyBaseLogger } from 'fastify';
import type { AcmeConfig } from '../../config/config.js';
import type { Validate } from './deps.js';
import type { RateLimits } from './rate-limits.js';
import type { Account, AcmeStore, Challenge } from './store.js';
import type { ValidationErrorType, ValidationOutcome } from './validation/index.js';

/**
 * Error types whose details never quote what the key authorization is or what it hashes to, so
 * they may go to the log as they are. The others (incorrectResponse, unauthorized) quote the
 * expected value, which the account's owner may see but the log does not need.
 */
const LOGGED_DETAIL: ReadonlySet<ValidationErrorType> = new Set(['connection', 'dns', 'tls', 'malformed']);

export class ChallengeRunner {
  constructor(
    private readonly store: AcmeStore,
    private readonly validate: Validate,
    private readonly limits: RateLimits,
    private readonly config: AcmeConfig,
    private readonly log: FastifyBaseLogger,
    private readonly now: () => number,
  ) {}

  /** Validation older than this is taken to have died with its replica. */
  get staleBefore(): number {
    return this.now() - this.config.validation.timeoutMs - 30_000;
  }

  /**
   * Claims the challenge and validates it in the background; null if someone else has it.
   * `settled` resolves to the challenge as recorded once validation ends (never rejects: null if
   * the outcome could not be recorded), so a caller may wait a little for it and answer at once.
   */
  async start(challenge: Challenge, identifier: string, account: Account): Promise<{ readonly settled: Promise<Challenge | null> } | null> {
    if (!(await this.store.startValidation(challenge.id, this.staleBefore))) return null;
    const settled = this.run(challenge, identifier, account).catch((err: Error) => {
      // The challenge stays processing and will be taken over once stale.
      this.log.error({ err, challenge: challenge.id }, 'recording a validation outcome failed');
      return null;
    });
    return { settled };
  }

  private async run(challenge: Challenge, identifier: string, account: Account): Promise<Challenge> {
    const keyAuthorization = `${challenge.token}.${account.thumbprint}`;
    let outcome: ValidationOutcome;
    try {
      outcome = await this.validate(challenge.type, identifier, challenge.token, keyAuthorization);
    } catch (err) {
      outcome = { ok: false as const, error: { type: 'connection' as const, detail: `validation failed: ${(err as Error).message}` } };
    }
    this.logAttempt(challenge, identifier, account, outcome);
    if (outcome.ok) {
      const c = this.config;
      await this.store.finishValidation(challenge.id, {
        valid: true,
        validUntil: this.now() + (c.orderLifetimeSeconds + c.authorizationReuseSeconds) * 1000,
      });
      return { ...challenge, status: 'valid', validatedAt: this.now(), error: null };
    }
    const e = outcome.error;
    const status = e.type === 'incorrectResponse' || e.type === 'unauthorized' ? 403 : 400;
    const error = { type: `urn:ietf:params:acme:error:${e.type}`, detail: `${challenge.type} for ${identifier}: ${e.detail}`, status };
    await this.store.finishValidation(challenge.id, { valid: false, error });
    await this.limits.failedValidation(account.id);
    return { ...challenge, status: 'invalid', validatedAt: null, error };
  }

  /** One line per attempt, whatever the outcome: what was validated, where it went, how it ended. */
  private logAttempt(challenge: Challenge, identifier: string, account: Account, outcome: ValidationOutcome): void {
    const fields = {
      identifier,
      challengeType: challenge.type,
      challenge: challenge.id,
      account: account.id,
      address: outcome.address ?? null,
    };
    if (outcome.ok) {
      this.log.info({ ...fields, result: 'valid' }, 'ACME validation');
      return;
    }
    const e = outcome.error;
    const detail = LOGGED_DETAIL.has(e.type) ? { detail: e.detail } : {};
    this.log.info({ ...fields, result: 'invalid', problem: `urn:ietf:params:acme:error:${e.type}`, ...detail }, 'ACME validation');
  }
}
