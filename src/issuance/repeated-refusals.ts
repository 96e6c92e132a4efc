// Keeps a flood of failed authentications from becoming a flood of ledger rows.
//
// Anyone can send a request with a forged token or a wrong password, as fast as they like. Each
// refusal is worth knowing about; one row per request is not. Within a window, the first refusal
// of a kind (path, client address, code, rule, and the identity the credential claimed) is written
// at once; the ones after it are only counted, and the count is written as one more row when the
// window ends. A source that keeps going gets one such row per window. A client that rotates the
// identities it claims gets its own rows for the first few, then one shared count per window.
//
// The counts live in this process: several replicas each write their own, and a process that
// dies loses at most one window's count, never the first refusal, which was written before the
// client had its answer.

import { randomUUID } from 'node:crypto';
import type { AuditReceipt, DeniedEvent } from '../audit/event.js';

export const REPEAT_WINDOW_MS = 10_000;
/** Distinct claimed identities one source may have open before they share one count. */
const CLAIMS_PER_SOURCE = 16;
/** Windows open at once in this process; past this, refusals are written one by one. */
const MAX_WINDOWS = 10_000;

interface Window {
  /** The first refusal of the window, the template of the summary row. */
  readonly first: DeniedEvent;
  readonly source: string;
  repeats: number;
  timer: NodeJS.Timeout;
}

type Admission = 'write' | 'folded';

export class RepeatedRefusals {
  private readonly open = new Map<string, Window>();
  /** Open windows per source, to bound the identities one source can make rows for. */
  private readonly perSource = new Map<string, number>();

  constructor(
    private readonly write: (event: DeniedEvent) => Promise<AuditReceipt>,
    private readonly clock: () => number = Date.now,
    private readonly windowMs = REPEAT_WINDOW_MS,
  ) {}

  /** Whether to write this refusal now, or count it into an open window. */
  admit(event: DeniedEvent): Admission {
    const source = sourceKey(event);
    const exact = `${source}\u0000${claimOf(event)}`;
    const shared = `${source}\u0000*`;
    for (const key of [exact, shared]) {
      const w = this.open.get(key);
      if (w !== undefined) {
        w.repeats++;
        return 'folded';
      }
    }
    if (this.open.size >= MAX_WINDOWS) return 'write';
    const key = (this.perSource.get(source) ?? 0) < CLAIMS_PER_SOURCE ? exact : shared;
    this.open.set(key, { first: event, source, repeats: 0, timer: this.schedule(key) });
    this.perSource.set(source, (this.perSource.get(source) ?? 0) + 1);
    return 'write';
  }

  /** Writes what is counted and forgets every window; for shutdown. */
  async flush(): Promise<void> {
    const pending = [...this.open.values()];
    this.open.clear();
    this.perSource.clear();
    for (const w of pending) clearTimeout(w.timer);
    await Promise.all(pending.filter((w) => w.repeats > 0).map((w) => this.summarize(w)));
  }

  private schedule(key: string): NodeJS.Timeout {
    return setTimeout(() => this.close(key), this.windowMs).unref();
  }

  private close(key: string): void {
    const w = this.open.get(key);
    if (w === undefined) return;
    if (w.repeats === 0) {
      this.open.delete(key);
      const left = (this.perSource.get(w.source) ?? 1) - 1;
      if (left > 0) this.perSource.set(w.source, left);
      else this.perSource.delete(w.source);
      return;
    }
    // Still going: one row for this window's count, and the window stays open for the next.
    void this.summarize(w);
    w.repeats = 0;
    w.timer = this.schedule(key);
  }

  private async summarize(w: Window): Promise<void> {
    const n = w.repeats;
    const seconds = Math.round(this.windowMs / 1000);
    // A row nobody waits on: if the ledger cannot take it, the decision log's warning is the trace.
    await this.write({
      ...w.first,
      id: randomUUID(),
      at: new Date(this.clock()).toISOString(),
      repeats: n,
      reason: `${n} more refusal${n === 1 ? '' : 's'} like this from ${w.first.client ?? 'the same source'} within ${seconds} s; the first: ${w.first.reason}`,
    });
  }
}

function sourceKey(e: DeniedEvent): string {
  return `${e.path}\u0000${e.client ?? ''}\u0000${e.code}\u0000${e.rule}`;
}

function claimOf(e: DeniedEvent): string {
  return e.requester.kind === 'unverified' ? `${e.requester.presented}:${e.requester.claimed ?? ''}` : e.requester.kind;
}
