// Durations in the policy document: whole seconds as a number, or a string of unit-suffixed
// integers such as "90s", "30m", "1h30m", "7d".
//
// Units must appear largest first and at most once each: "30m1h" is almost always a typo for
// something, and a certificate lifetime is the wrong place to guess what.

export type DurationResult = { readonly ok: true; readonly seconds: number } | { readonly ok: false; readonly reason: string };

const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;

/** The same grammar as a regular expression, for the JSON Schema's `pattern`. */
export const DURATION_PATTERN = '^(?=[0-9])(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?$';
const DURATION_RE = /^(?=[0-9])(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?$/;

export const DURATION_HINT = 'a duration: whole seconds, or a string such as "90s", "30m", "1h30m" or "7d"';

/** Parses a duration; zero is a valid duration here, callers that need a positive one say so. */
export function parseDuration(value: unknown): DurationResult {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return { ok: false, reason: `must be ${DURATION_HINT}` };
    return { ok: true, seconds: value };
  }
  if (typeof value !== 'string') return { ok: false, reason: `must be ${DURATION_HINT}` };
  const m = DURATION_RE.exec(value);
  if (m === null) return { ok: false, reason: `${JSON.stringify(value)} is not ${DURATION_HINT}` };
  const [, d, h, min, s] = m;
  const seconds = Number(d ?? 0) * UNIT_SECONDS.d + Number(h ?? 0) * UNIT_SECONDS.h + Number(min ?? 0) * UNIT_SECONDS.m + Number(s ?? 0);
  if (!Number.isSafeInteger(seconds)) return { ok: false, reason: `${JSON.stringify(value)} is too long` };
  return { ok: true, seconds };
}

/**
 * A readable string that parseDuration reads back as `seconds`, for messages: "25h", "1h30m".
 * Days only for whole multiples above one, because operators think of "24h", not "1d".
 */
export function formatDuration(seconds: number): string {
  if (!Number.isSafeInteger(seconds) || seconds < 0) return `${seconds}s`;
  if (seconds === 0) return '0s';
  if (seconds > UNIT_SECONDS.d && seconds % UNIT_SECONDS.d === 0) return `${seconds / UNIT_SECONDS.d}d`;
  let rest = seconds;
  let out = '';
  for (const unit of ['h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNIT_SECONDS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_SECONDS[unit];
    }
  }
  return out;
}
