// Figures the overview reads from this server's own Prometheus exposition (in cluster mode the
// primary's aggregate of every worker; in production, one replica's): issuance latency
// percentiles and the audit queue's backlog.

export interface LatencyQuantiles {
  readonly count: number;
  /** Seconds, interpolated within histogram buckets as Prometheus' histogram_quantile does. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface MetricsFigures {
  /** Per enrollment path, and `all`. */
  readonly latency: Record<string, LatencyQuantiles>;
  /** Null when this process has no queue to read (the embedded mode's in-process queue). */
  readonly queueDepth: number | null;
  readonly queueOldestSeconds: number | null;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)/;

function labels(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (s ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** The q-quantile of cumulative buckets (upper bound, count), sorted by bound. */
export function quantile(q: number, buckets: readonly (readonly [number, number])[]): number {
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return 0;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      // The +Inf bucket has no upper bound: answer the highest finite one, as Prometheus does.
      if (!Number.isFinite(bound)) return prevBound;
      return prevBound + (bound - prevBound) * ((rank - prevCount) / Math.max(count - prevCount, 1e-9));
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

export function readMetrics(text: string): MetricsFigures {
  const byPath = new Map<string, Map<number, number>>();
  let queueDepth: number | null = null;
  let queueOldestSeconds: number | null = null;
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, name, rawLabels, rawValue] = m;
    const value = Number(rawValue);
    if (name === 'workload_ca_issuance_seconds_bucket') {
      const l = labels(rawLabels);
      const le = l.le === '+Inf' ? Infinity : Number(l.le);
      for (const path of [l.path ?? '', 'all']) {
        const b = byPath.get(path) ?? byPath.set(path, new Map()).get(path)!;
        b.set(le, (b.get(le) ?? 0) + value);
      }
    } else if (name === 'workload_ca_audit_queue_depth' && value >= 0) {
      queueDepth = value;
    } else if (name === 'workload_ca_audit_queue_oldest_seconds' && value >= 0) {
      queueOldestSeconds = value;
    }
  }
  const latency: Record<string, LatencyQuantiles> = {};
  for (const [path, b] of byPath) {
    const buckets = [...b].sort((x, y) => x[0] - y[0]);
    latency[path] = {
      count: buckets[buckets.length - 1]?.[1] ?? 0,
      p50: quantile(0.5, buckets),
      p95: quantile(0.95, buckets),
      p99: quantile(0.99, buckets),
    };
  }
  return { latency, queueDepth, queueOldestSeconds };
}
