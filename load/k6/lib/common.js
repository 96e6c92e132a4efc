// Shared by every k6 script: settings from -e variables, the arrival-rate scenario, thresholds
// and the end-of-test summary (text to stdout, the full data as JSON to a file).

/** A -e variable, or its default. */
export function env(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

/** The CA's base URL without a trailing slash, e.g. https://ca.example:8443. */
export const BASE_URL = env('BASE_URL', 'https://127.0.0.1:8443').replace(/\/+$/, '');

/**
 * One constant-arrival-rate scenario: RATE attempts per second for DURATION, whatever the answers
 * do (a CA that slows down shows as latency and dropped_iterations, not as a lower offered load).
 * @param {string} exec the exported function each iteration runs
 * @param {number} share this scenario's share of RATE (the mixed script splits it 70/20/10)
 */
export function arrivalScenario(exec, share = 1) {
  const rate = Math.max(1, Math.round(Number(env('RATE', '100')) * share));
  const vus = Number(env('VUS', String(Math.max(16, Math.ceil(rate / 10)))));
  return {
    executor: 'constant-arrival-rate',
    exec,
    rate,
    timeUnit: '1s',
    duration: env('DURATION', '60s'),
    preAllocatedVUs: vus,
    maxVUs: Number(env('MAX_VUS', String(vus * 4))),
  };
}

/** Fewer than one failed request in a thousand, and a p(99) budget per path (milliseconds). */
export function thresholds(p99ByPath) {
  /** @type {Record<string, string[]>} */
  const t = { http_req_failed: ['rate<0.001'], checks: ['rate>0.999'] };
  for (const [path, ms] of Object.entries(p99ByPath))
    t[`http_req_duration{path:${path}}`] = [`p(99)<${env(`P99_${path.toUpperCase()}`, String(ms))}`];
  return t;
}

export const summaryTrendStats = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'];

/** TLS: the CA's own root is rarely in the load generator's store; INSECURE=1 skips the check. */
export const tlsOptions = { insecureSkipTLSVerify: env('INSECURE', '0') === '1' };

/**
 * handleSummary: a short text table on stdout, and the whole summary as JSON in SUMMARY
 * (default k6-<name>-summary.json) for the bench report.
 * @param {string} name
 * @param {any} data k6's end-of-test summary object
 */
export function summary(name, data) {
  const lines = [`workload-ca ${name}: ${env('RATE', '100')}/s for ${env('DURATION', '60s')} against ${BASE_URL}`];
  for (const [metric, value] of Object.entries(data.metrics)) {
    if (
      !metric.startsWith('http_req_duration{') &&
      metric !== 'http_req_duration' &&
      metric !== 'http_req_failed' &&
      metric !== 'iterations' &&
      metric !== 'dropped_iterations'
    )
      continue;
    const v = /** @type {any} */ (value).values;
    const text =
      'p(99)' in v
        ? `med ${v.med.toFixed(1)} ms, p(95) ${v['p(95)'].toFixed(1)} ms, p(99) ${v['p(99)'].toFixed(1)} ms`
        : 'rate' in v
          ? `rate ${v.rate.toFixed(4)}`
          : JSON.stringify(v);
    const failed = Object.values(/** @type {any} */ (value).thresholds ?? {}).some((t) => !t.ok);
    lines.push(`  ${failed ? '✗' : '✓'} ${metric}: ${text}`);
  }
  return { stdout: `${lines.join('\n')}\n`, [env('SUMMARY', `k6-${name}-summary.json`)]: JSON.stringify(data, null, 2) };
}
