// k6: the mix platform teams size for: of RATE attempts per second, 70% SVIDs (API), 20% EST
// enrollments and 10% whole ACME orders, each its own constant-arrival-rate scenario.
//   k6 run -e BASE_URL=https://ca.example:8443 -e RATE=1000 -e DURATION=10m load/k6/mixed.js

import { arrivalScenario, summary, summaryTrendStats, thresholds, tlsOptions } from './lib/common.js';
import { apiIteration } from './lib/api.js';
import { estIteration, estTlsAuth } from './lib/est.js';
import { acmeIteration } from './lib/acme.js';

export const MIX = { api: 0.7, est: 0.2, acme: 0.1 };

export const options = {
  ...tlsOptions,
  tlsAuth: estTlsAuth(),
  scenarios: {
    api: arrivalScenario('api', MIX.api),
    est: arrivalScenario('est', MIX.est),
    acme: arrivalScenario('acme', MIX.acme),
  },
  thresholds: thresholds({ api: 25, est: 50, acme: 250 }),
  summaryTrendStats,
};

export function api() {
  apiIteration();
}

export function est() {
  estIteration();
}

export async function acme() {
  await acmeIteration();
}

export function handleSummary(data) {
  return summary('mixed', data);
}
