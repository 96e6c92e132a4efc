// One load level: `concurrency` virtual users, each a closed loop (send, read the whole answer,
// send again) over a keep-alive connection pool, like agents renewing SVIDs.
//
// Timeline of a level: [start, measureStart) warm-up, [measureStart, deadline] measured. A request
// counts if it *completes* inside the measured window, which is unbiased in steady state and
// needs no special case for requests straddling a boundary. No request starts after the deadline.

import { setMaxListeners } from 'node:events';
import { Pool } from 'undici';
import { cpuBetween, cpuSnapshot, type CpuSnapshot, type CpuUse } from './cpu.js';
import { ErrorCounter, Reservoir, summarizeLatencies, type ErrorTally, type LatencySummary } from '../../test/support/stats.js';
import type { IssuedSample } from '../../test/support/verify.js';
import { svidsPath, type PreparedRequest } from '../../test/support/workload.js';

/** In-flight requests get this long after the deadline before they are aborted. */
const DRAIN_GRACE_MS = 10_000;

export interface Target {
  readonly url: URL;
  readonly rootPem: string;
  /** Embedded mode: the server's pid, to measure its CPU; null otherwise. */
  readonly serverPid: number | null;
}

export interface LevelPlan {
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly verifySample: number;
}

export interface LevelResult {
  readonly concurrency: number;
  readonly measuredSeconds: number;
  readonly issued: number;
  readonly issuedPerSecond: number;
  readonly latencyMs: LatencySummary;
  readonly errors: ErrorTally;
  /** Completed during warm-up or after the deadline: not counted, reported for transparency. */
  readonly uncounted: { readonly warmup: number; readonly afterDeadline: number; readonly warmupErrors: number };
  readonly cpu: CpuUse | null;
}

export interface LevelRun {
  readonly result: LevelResult;
  readonly samples: readonly IssuedSample[];
}

interface Recorder {
  readonly latenciesMs: number[];
  readonly errors: ErrorCounter;
  readonly reservoir: Reservoir<IssuedSample>;
  warmup: number;
  warmupErrors: number;
  afterDeadline: number;
}

export async function runLevel(target: Target, requests: readonly PreparedRequest[], plan: LevelPlan): Promise<LevelRun> {
  const pool = new Pool(target.url.origin, {
    connections: plan.concurrency,
    pipelining: 1,
    // The root CA is the only trust anchor: a test of this CA, not of the system store.
    connect: { ca: target.rootPem },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const start = process.hrtime.bigint();
  const measureStart = start + secondsToNs(plan.warmupSeconds);
  const deadline = measureStart + secondsToNs(plan.durationSeconds);
  const abort = new AbortController();
  // Every in-flight request listens on this one signal. undici removes a listener when the
  // response body closes, which can be a tick after the user has sent its next request, so a
  // user briefly holds two; the limit only has to stay quiet for that, not hide a real leak.
  setMaxListeners(plan.concurrency * 4 + 16, abort.signal);
  const hardStop = setTimeout(() => abort.abort(new Error('still in flight after the deadline')), nsToMs(deadline - start) + DRAIN_GRACE_MS);
  const window = cpuWindow(target.serverPid, measureStart - start, deadline - start);
  const rec: Recorder = {
    latenciesMs: [],
    errors: new ErrorCounter(),
    reservoir: new Reservoir(plan.verifySample),
    warmup: 0,
    warmupErrors: 0,
    afterDeadline: 0,
  };
  const path = svidsPath(target.url);
  // A shared cursor spreads every prepared CSR and token over all users.
  let cursor = 0;
  const next = (): PreparedRequest => requests[cursor++ % requests.length]!;

  try {
    await Promise.all(Array.from({ length: plan.concurrency }, () => virtualUser(pool, path, next, { measureStart, deadline }, rec, abort.signal)));
  } finally {
    clearTimeout(hardStop);
    await pool.close().catch(() => pool.destroy());
  }
  const cpu = await window;
  const measuredSeconds = Number(deadline - measureStart) / 1e9;
  const issued = rec.latenciesMs.length;
  return {
    result: {
      concurrency: plan.concurrency,
      measuredSeconds,
      issued,
      issuedPerSecond: issued / measuredSeconds,
      latencyMs: summarizeLatencies(rec.latenciesMs),
      errors: rec.errors.tally(),
      uncounted: { warmup: rec.warmup, afterDeadline: rec.afterDeadline, warmupErrors: rec.warmupErrors },
      cpu,
    },
    samples: rec.reservoir.sample,
  };
}

async function virtualUser(
  pool: Pool,
  path: string,
  next: () => PreparedRequest,
  window: { measureStart: bigint; deadline: bigint },
  rec: Recorder,
  signal: AbortSignal,
): Promise<void> {
  for (;;) {
    const began = process.hrtime.bigint();
    if (began >= window.deadline || signal.aborted) return;
    const request = next();
    const outcome = await sendOnce(pool, path, request, signal);
    const ended = process.hrtime.bigint();
    if (ended > window.deadline) {
      rec.afterDeadline++;
      continue; // the loop head returns: this user's deadline has passed
    }
    if (ended < window.measureStart) {
      if (outcome.ok) rec.warmup++;
      else rec.warmupErrors++;
      continue;
    }
    if (!outcome.ok) {
      rec.errors.add(outcome.error);
      continue;
    }
    rec.latenciesMs.push(Number(ended - began) / 1e6);
    rec.reservoir.offer(() => ({ request, body: outcome.body }));
  }
}

type Outcome = { ok: true; body: string } | { ok: false; error: string };

/** One POST, body read to the end (a client has not got its certificate until it has). */
async function sendOnce(pool: Pool, path: string, request: PreparedRequest, signal: AbortSignal): Promise<Outcome> {
  try {
    const res = await pool.request({ method: 'POST', path, headers: request.headers, body: request.body, signal });
    const body = await res.body.text();
    if (res.statusCode === 201) return { ok: true, body };
    return { ok: false, error: `HTTP ${res.statusCode}: ${problemSummary(body)}` };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { ok: false, error: `${e.code ?? e.name}: ${e.message}` };
  }
}

/** RFC 9457 problem documents carry a stable `type` and a human `detail`; either names the error. */
function problemSummary(body: string): string {
  try {
    const p = JSON.parse(body) as { type?: string; title?: string; detail?: string };
    return [p.type ?? p.title, p.detail].filter(Boolean).join(' — ').slice(0, 200) || body.slice(0, 200);
  } catch {
    return body.slice(0, 200);
  }
}

/** Snapshots CPU at the measured window's edges with timers, so warm-up CPU is not included. */
function cpuWindow(serverPid: number | null, startInNs: bigint, endInNs: bigint): Promise<CpuUse | null> {
  return new Promise((resolve) => {
    let first: CpuSnapshot | null = null;
    setTimeout(() => (first = cpuSnapshot(serverPid)), nsToMs(startInNs));
    setTimeout(() => resolve(first ? cpuBetween(first, cpuSnapshot(serverPid)) : null), nsToMs(endInNs));
  });
}

function secondsToNs(s: number): bigint {
  return BigInt(Math.round(s * 1e9));
}

function nsToMs(ns: bigint): number {
  return Number(ns / 1_000_000n);
}
