// What the production suite, the soak and the cluster test drive: three enrollment paths behind
// one interface, so one driver can run each alone or mixed, closed-loop or at a fixed arrival rate.
//
// A scenario prepares everything an attempt needs before any clock starts (keys, CSRs, tokens,
// ACME accounts). An attempt is one unit of work as its client sees it: one SVID, one EST
// enrollment, one whole ACME order. Its certificate's serial is read only when asked, so the
// timed loop does not pay for parsing replies.

export type ScenarioKind = 'api' | 'renew' | 'est' | 'acme';

export type Attempt<S> =
  { readonly ok: true; readonly serial: () => string; readonly sample: () => S } | { readonly ok: false; readonly error: string };

export interface ScenarioClient<S> {
  attempt(): Promise<Attempt<S>>;
  close(): Promise<void>;
}

export interface SampleCheck {
  readonly checked: number;
  readonly failures: readonly string[];
}

export interface Scenario<S> {
  readonly kind: ScenarioKind;
  /** One client per virtual user; each keeps its connection (and ACME account) across attempts. */
  clients(count: number): Promise<ScenarioClient<S>[]>;
  /** Checks sampled certificates the way a relying party would; a fast wrong answer must fail. */
  verify(samples: readonly S[]): SampleCheck;
}

/** Serials as the ledger stores them: lower-case hex of the DER INTEGER's content, sign byte included. */
export function serialHex(der: Uint8Array): string {
  return Buffer.from(der).toString('hex');
}

/** X509Certificate prints the serial in upper case and may drop a leading zero byte. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, '');
}

export function describeError(err: unknown): string {
  const e = err as Error & { code?: string };
  return `${e.code ?? e.name}: ${e.message}`.slice(0, 200);
}
