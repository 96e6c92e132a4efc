// Per-account limits in fixed one-hour windows, counted in the shared state so that every
// replica sees the same count.

import { fail } from './problems.js';
import type { SharedState } from './shared-state.js';

const HOUR_MS = 3_600_000;

export class RateLimits {
  constructor(
    private readonly state: SharedState,
    private readonly limits: { readonly newOrdersPerHour: number; readonly failedValidationsPerHour: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a new order; refuses it when the account is over its hourly allowance. */
  async newOrder(accountId: string): Promise<void> {
    const { key, retryAfter } = this.window('orders', accountId);
    const n = await this.state.increment(key, HOUR_MS);
    if (n > this.limits.newOrdersPerHour) {
      fail('rateLimited', `account has created more than ${this.limits.newOrdersPerHour} orders this hour`, { retryAfterSeconds: retryAfter });
    }
  }

  /** Refuses to start a validation when the account has failed too many this hour. */
  async checkValidation(accountId: string): Promise<void> {
    const { key, retryAfter } = this.window('failed-validations', accountId);
    if ((await this.state.count(key)) >= this.limits.failedValidationsPerHour) {
      fail('rateLimited', `account has failed ${this.limits.failedValidationsPerHour} validations this hour`, { retryAfterSeconds: retryAfter });
    }
  }

  async failedValidation(accountId: string): Promise<void> {
    await this.state.increment(this.window('failed-validations', accountId).key, HOUR_MS);
  }

  private window(what: string, accountId: string): { key: string; retryAfter: number } {
    const now = this.now();
    const window = Math.floor(now / HOUR_MS);
    return { key: `limit:${what}:${accountId}:${window}`, retryAfter: Math.max(1, Math.ceil(((window + 1) * HOUR_MS - now) / 1000)) };
  }
}
