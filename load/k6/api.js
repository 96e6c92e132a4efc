// k6: SVID issuance (POST /v1/svids) at a constant arrival rate. See load/k6/README.md.
//   k6 run -e BASE_URL=https://ca.example:8443 -e RATE=2000 -e DURATION=60s load/k6/api.js

import { arrivalScenario, summary, summaryTrendStats, thresholds, tlsOptions } from './lib/common.js';
import { apiIteration } from './lib/api.js';

export const options = {
  ...tlsOptions,
  scenarios: { api: arrivalScenario('api') },
  thresholds: thresholds({ api: 25 }),
  summaryTrendStats,
};

export function api() {
  apiIteration();
}

export function handleSummary(data) {
  return summary('api', data);
}
