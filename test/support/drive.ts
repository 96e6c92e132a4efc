// Drives a mix of scenarios, either closed-loop (N virtual users, each sending its next attempt
// when the last one is answered: the production suite) or at a constant arrival rate (attempts
// start on a clock whatever the answers do, as k6's constant-arrival-rate executor: the soak).
//
// Each iteration picks its scenario by weight, so "70% API, 20% EST, 10% ACME" is a share of
// attempts started, the same meaning as the k6 mixed script's per-scenario rates. Every serial a
// client received, inside the measured window or not, is kept for the ledger reconciliation.

import type { SampleCheck, Scenario, ScenarioClient, ScenarioKind } from './scenarios/scenario.js';
import { ErrorCounter, Reservoir, summarizeLatencies, type ErrorTally, type LatencySummary } from './stats.js';

export interface MixEntry {
  readonly scenario: Scenario<unknown>;
  readonly weight: number;
}

export interface KindResult {
  readonly kind: ScenarioKind;
  readonly completed: number;
  readonly perSecond: number;
  readonly latencyMs: LatencySummary;
  readonly errors: ErrorTally;
  readonly samples: readonly unknown[];
  /** Checks the samples with the scenario that produced them. */
  verify(): SampleCheck;
}

export interface DriveResult {
  readonly measuredSeconds: number;
  readonly kinds: readonly KindResult[];
  /** Serials of every certificate received, warm-up and stragglers included. */
  readonly serials: readonly string[];
  /** Arrival-rate only: attempts due while every virtual user was busy (k6's dropped_iterations). */
  readonly dropped: number;
}

interface Recorder {
  readonly latencies: number[];
  readonly errors: ErrorCounter;
  readonly reservoir: Reservoir<unknown>;
}

/** One client per scenario per virtual user, so a user keeps its connections across attempts. */
type VirtualUser = readonly ScenarioClient<unknown>[];

class Mix {
  private readonly cumulative: number[];
  readonly recorders: Recorder[];
  readonly serials: (() => string)[] = [];

  constructor(
    readonly entries: readonly MixEntry[],
    verifySample: number,
  ) {
    const total = entries.reduce((s, e) => s + e.weight, 0);
    let acc = 0;
    this.cumulative = entries.map((e) => (acc += e.weight / total));
    this.recorders = entries.map(() => ({ latencies: [], errors: new ErrorCounter(), reservoir: new Reservoir(verifySample) }));
  }

  pick(): number {
    const r = Math.random();
    const i = this.cumulative.findIndex((c) => r < c);
    return i === -1 ? this.cumulative.length - 1 : i;
  }

  async users(count: number): Promise<VirtualUser[]> {
    const perScenario = await Promise.all(this.entries.map((e) => e.scenario.clients(count)));
    return Array.from({ length: count }, (_, u) => perScenario.map((clients) => clients[u]!));
  }

  /** Runs one attempt; `measured` says whether its end falls in the measured window. */
  async iterate(user: VirtualUser, measured: (endNs: bigint) => boolean, eagerSerial: boolean): Promise<void> {
    const which = this.pick();
    const began = process.hrtime.bigint();
    const outcome = await user[which]!.attempt();
    const ended = process.hrtime.bigint();
    if (outcome.ok) this.serials.push(eagerSerial ? constant(outcome.serial()) : outcome.serial);
    if (!measured(ended)) return;
    const rec = this.recorders[which]!;
    if (!outcome.ok) {
      rec.errors.add(outcome.error);
      return;
    }
    rec.latencies.push(Number(ended - began) / 1e6);
    rec.reservoir.offer(outcome.sample);
  }

  result(measuredSeconds: number, dropped: number): DriveResult {
    return {
      measuredSeconds,
      dropped,
      serials: this.serials.map((s) => s()),
      kinds: this.entries.map((e, i) => {
        const rec = this.recorders[i]!;
        return {
          kind: e.scenario.kind,
          completed: rec.latencies.length,
          perSecond: rec.latencies.length / measuredSeconds,
          latencyMs: summarizeLatencies(rec.latencies),
          errors: rec.errors.tally(),
          samples: rec.reservoir.sample,
          verify: () => e.scenario.verify(rec.reservoir.sample),
        };
      }),
    };
  }
}

const constant = (s: string) => (): string => s;

export interface ClosedPlan {
  readonly concurrency: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly verifySample: number;
}

export async function runClosedLoop(entries: readonly MixEntry[], plan: ClosedPlan): Promise<DriveResult> {
  const mix = new Mix(entries, plan.verifySample);
  const users = await mix.users(plan.concurrency);
  const start = process.hrtime.bigint();
  const measureStart = start + ns(plan.warmupSeconds);
  const deadline = measureStart + ns(plan.durationSeconds);
  const measured = (end: bigint): boolean => end >= measureStart && end <= deadline;
  try {
    await Promise.all(
      users.map(async (user) => {
        while (process.hrtime.bigint() < deadline) await mix.iterate(user, measured, false);
      }),
    );
  } finally {
    await closeAll(users);
  }
  return mix.result(plan.durationSeconds, 0);
}

export interface ArrivalPlan {
  readonly ratePerSecond: number;
  readonly durationSeconds: number;
  /** The rate climbs linearly from zero over this many seconds (part of the duration), as k6's ramping-arrival-rate. */
  readonly rampSeconds?: number;
  /** Virtual users available; an attempt due when all are busy is dropped and counted. */
  readonly maxInFlight: number;
  readonly verifySample: number;
  /** Called every `reportEverySeconds` with what happened so far. */
  readonly onProgress?: (elapsedSeconds: number, progress: Progress) => Promise<void> | void;
  readonly reportEverySeconds?: number;
}

export interface Progress {
  readonly started: number;
  readonly received: number;
  readonly errors: number;
  readonly dropped: number;
}

export async function runArrivalRate(entries: readonly MixEntry[], plan: ArrivalPlan): Promise<DriveResult> {
  const mix = new Mix(entries, plan.verifySample);
  const users = await mix.users(plan.maxInFlight);
  const idle = [...users];
  const running = new Set<Promise<void>>();
  let started = 0;
  let dropped = 0;
  const start = process.hrtime.bigint();
  const deadline = start + ns(plan.durationSeconds);
  const always = (): boolean => true;
  let nextReport = plan.reportEverySeconds ?? Infinity;
  try {
    for (;;) {
      const now = process.hrtime.bigint();
      if (now >= deadline) break;
      const elapsed = Number(now - start) / 1e9;
      const due = Math.floor(arrivalsBy(elapsed, plan.ratePerSecond, plan.rampSeconds ?? 0)) - started - dropped;
      for (let i = 0; i < due; i++) {
        // First in, first out, so every user (and its prepared ACME orders) is used evenly.
        const user = idle.shift();
        if (!user) {
          dropped++;
          continue;
        }
        started++;
        const p: Promise<void> = mix.iterate(user, always, true).finally(() => {
          idle.push(user);
          running.delete(p);
        });
        running.add(p);
      }
      if (elapsed >= nextReport) {
        nextReport += plan.reportEverySeconds!;
        const errors = mix.recorders.reduce((n, r) => n + r.errors.count, 0);
        await plan.onProgress?.(elapsed, { started, received: mix.serials.length, errors, dropped });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(running);
  } finally {
    await closeAll(users);
  }
  return mix.result(plan.durationSeconds, dropped);
}

/** Attempts due by `t`: the integral of a rate that ramps linearly to `rate` over `ramp` seconds. */
function arrivalsBy(t: number, rate: number, ramp: number): number {
  if (t < ramp) return (rate * t * t) / (2 * ramp);
  return rate * (t - ramp / 2);
}

async function closeAll(users: readonly VirtualUser[]): Promise<void> {
  await Promise.all(users.flat().map((c) => c.close().catch(() => undefined)));
}

function ns(seconds: number): bigint {
  return BigInt(Math.round(seconds * 1e9));
}
