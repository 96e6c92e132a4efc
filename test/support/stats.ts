// Small statistics helpers: exact percentiles from all samples, a bounded tally of distinct
// errors, and a uniform random sample of successes for the after-level verification.

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentiles over every recorded sample (no histogram bucketing, so no rounding). */
export function summarizeLatencies(samplesMs: readonly number[]): LatencySummary {
  const sorted = Float64Array.from(samplesMs).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
  const at = (p: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, p50: at(50), p95: at(95), p99: at(99), max: sorted[n - 1]!, mean: sum / n };
}

export interface ErrorTally {
  readonly total: number;
  /** The first few distinct messages, in the order they were first seen, with their counts. */
  readonly distinct: readonly { readonly message: string; readonly count: number }[];
  /** Errors whose message was not kept because `distinct` was full. */
  readonly otherCount: number;
}

/** Keeps a handful of distinct messages: a failing server can produce millions of errors. */
export class ErrorCounter {
  private total = 0;
  private other = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly keep = 5) {}

  add(message: string): void {
    this.total++;
    const seen = this.counts.get(message);
    if (seen !== undefined) this.counts.set(message, seen + 1);
    else if (this.counts.size < this.keep) this.counts.set(message, 1);
    else this.other++;
  }

  get count(): number {
    return this.total;
  }

  tally(): ErrorTally {
    return { total: this.total, distinct: [...this.counts].map(([message, count]) => ({ message, count })), otherCount: this.other };
  }
}

/** Algorithm R: every success in the window is equally likely to be checked, whenever it came. */
export class Reservoir<T> {
  private seen = 0;
  private readonly items: T[] = [];

  constructor(private readonly size: number) {}

  offer(item: () => T): void {
    this.seen++;
    if (this.items.length < this.size) {
      this.items.push(item());
      return;
    }
    const j = Math.floor(Math.random() * this.seen);
    if (j < this.size) this.items[j] = item();
  }

  get sample(): readonly T[] {
    return this.items;
  }
}
