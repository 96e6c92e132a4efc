// k6: EST simpleenroll as a gateway (TLS client certificate, or -e EST_USER for HTTP Basic).
//   k6 run -e BASE_URL=https://ca.example:8443 -e EST_LABEL=gateways -e EST_CERT=gw.pem -e EST_KEY=gw.key load/k6/est.js

import { arrivalScenario, summary, summaryTrendStats, thresholds, tlsOptions } from './lib/common.js';
import { estIteration, estTlsAuth } from './lib/est.js';

export const options = {
  ...tlsOptions,
  tlsAuth: estTlsAuth(),
  scenarios: { est: arrivalScenario('est') },
  thresholds: thresholds({ est: 50 }),
  summaryTrendStats,
};

export function est() {
  estIteration();
}

export function handleSummary(data) {
  return summary('est', data);
}
