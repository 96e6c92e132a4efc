// `npm run bench:crypto`: the OpenSSL work every SVID needs, measured alone: importing the CSR's
// P-256 key (as the CSR parser does, from JWK coordinates), verifying the CSR's signature, and
// signing the certificate. Their sum is a floor under the cost of one issuance that no change
// to the CA's own code can lower; the suite's figures are read against it.

import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { machineInfo } from './lib/report.js';

const ROUNDS = 7;
const OPS = 3000;

function perOpMicros(fn: () => void): number {
  for (let i = 0; i < 300; i++) fn();
  const runs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) fn();
    runs.push(Number(process.hrtime.bigint() - start) / OPS / 1000);
  }
  return runs.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!;
}

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = publicKey.export({ format: 'jwk' });
// About the size of a CSR's signed part and of a certificate's TBS.
const csrInfo = Buffer.alloc(220, 1);
const tbs = Buffer.alloc(420, 2);
const csrSignature = sign('sha256', csrInfo, privateKey);

const importUs = perOpMicros(() => createPublicKey({ key: jwk, format: 'jwk' }));
const verifyUs = perOpMicros(() => verify('sha256', csrInfo, publicKey, csrSignature));
const signUs = perOpMicros(() => sign('sha256', tbs, privateKey));
const floor = importUs + verifyUs + signUs;
const m = machineInfo();
console.log(`machine: ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, OpenSSL ${process.versions.openssl}`);
console.log(`median of ${ROUNDS} rounds of ${OPS} operations, one thread:`);
console.log(`  import a P-256 public key (JWK)   ${importUs.toFixed(1)} µs`);
console.log(`  verify the CSR signature          ${verifyUs.toFixed(1)} µs`);
console.log(`  sign the certificate              ${signUs.toFixed(1)} µs`);
console.log(
  `  floor per issuance                ${floor.toFixed(1)} µs = ${Math.round(1e6 / floor)}/s per core, ${Math.round((1e6 / floor) * availableParallelism())}/s on all ${availableParallelism()} cores with nothing else running`,
);
