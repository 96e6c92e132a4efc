// k6: whole ACME orders at a constant arrival rate (orders per second), http-01 answered by
// http01-responder.ts. See load/k6/README.md.
//   k6 run -e BASE_URL=https://ca.example:8443 -e RATE=100 -e EAB_KID=... -e EAB_HMAC_KEY=... load/k6/acme.js

import { arrivalScenario, summary, summaryTrendStats, thresholds, tlsOptions } from './lib/common.js';
import { acmeIteration } from './lib/acme.js';

export const options = {
  ...tlsOptions,
  scenarios: { acme: arrivalScenario('acme') },
  thresholds: { ...thresholds({ acme: 250 }), acme_order_duration: [`p(99)<${__ENV.P99_ORDER ?? '1000'}`] },
  summaryTrendStats,
};

export async function acme() {
  await acmeIteration();
}

export function handleSummary(data) {
  return summary('acme', data);
}
