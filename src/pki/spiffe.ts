// SPIFFE IDs, parsed and validated per the SPIFFE ID specification (SPIFFE-ID.md, section 2).
//
// A hand-written scanner rather than the URL class: WHATWG URL parsing normalises (lower-cases the
// host, resolves "." and "..", percent-decodes), and the spec requires such IDs to be rejected, not
// repaired. It also runs on every issuance, so it avoids allocation until it has an answer.

export interface SpiffeId {
  readonly trustDomain: string;
  /** "" or "/a/b". */
  readonly path: string;
  readonly uri: string;
}

export type SpiffeIdError = {
  readonly code: 'empty' | 'scheme' | 'trust-domain' | 'path' | 'too-long' | 'query-or-fragment' | 'userinfo-or-port' | 'percent-encoding';
  readonly message: string;
};

const SCHEME = 'spiffe://';
const MAX_ID_BYTES = 2048;
const MAX_TRUST_DOMAIN_BYTES = 255;

const TD_CHAR = 1;
const PATH_CHAR = 2;
const CHAR_CLASS = (() => {
  const t = new Uint8Array(128);
  for (let c = 0x61; c <= 0x7a; c++) t[c] = TD_CHAR | PATH_CHAR; // a-z
  for (let c = 0x41; c <= 0x5a; c++) t[c] = PATH_CHAR; // A-Z: paths only; trust domains are lower-case
  for (let c = 0x30; c <= 0x39; c++) t[c] = TD_CHAR | PATH_CHAR; // 0-9
  for (const ch of '.-_') t[ch.charCodeAt(0)] = TD_CHAR | PATH_CHAR;
  return t;
})();

const SLASH = 0x2f;
const DOT = 0x2e;

function fail(code: SpiffeIdError['code'], message: string): { ok: false; error: SpiffeIdError } {
  return { ok: false, error: { code, message } };
}

function showChar(s: string, i: number): string {
  const cp = s.codePointAt(i) ?? 0;
  if (cp > 0x20 && cp < 0x7f) return JSON.stringify(String.fromCharCode(cp));
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

function showString(s: string): string {
  return JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
}

/** Error for a character that is not allowed at offset `i`; `inPath` picks the component named. */
function charError(s: string, i: number, inPath: boolean): { ok: false; error: SpiffeIdError } {
  const c = s.charCodeAt(i);
  if (c === 0x3f) return fail('query-or-fragment', `query ("?" at offset ${i}) is not allowed`);
  if (c === 0x23) return fail('query-or-fragment', `fragment ("#" at offset ${i}) is not allowed`);
  if (c === 0x25) return fail('percent-encoding', `percent-encoding ("%" at offset ${i}) is not allowed`);
  if (inPath) {
    return fail('path', `path contains illegal character ${showChar(s, i)} at offset ${i}`);
  }
  if (c === 0x40 || c === 0x3a) {
    // "user:pass@host" meets ":" before "@", so look at the whole authority to name the right one.
    let end = i;
    while (end < s.length) {
      const e = s.charCodeAt(end);
      if (e === SLASH || e === 0x3f || e === 0x23) break;
      end++;
    }
    return s.slice(SCHEME.length, end).includes('@')
      ? fail('userinfo-or-port', `userinfo ("@" in ${showString(s.slice(SCHEME.length, end))}) is not allowed`)
      : fail('userinfo-or-port', `port (":" at offset ${i}) is not allowed`);
  }
  if (c >= 0x41 && c <= 0x5a) {
    return fail('trust-domain', `trust domain must be lower-case: ${showChar(s, i)} at offset ${i}`);
  }
  return fail('trust-domain', `trust domain contains illegal character ${showChar(s, i)} at offset ${i}`);
}

/** Parses a SPIFFE ID. Errors are reported for the first offending position. Never throws. */
export function parseSpiffeId(s: string): { ok: true; id: SpiffeId } | { ok: false; error: SpiffeIdError } {
  if (typeof s !== 'string' || s.length === 0) return fail('empty', 'SPIFFE ID is empty');

  // UTF-8 never takes fewer bytes than UTF-16 code units, nor more than three per unit, so the
  // byte count is needed only in between.
  if (s.length > MAX_ID_BYTES || (s.length * 3 > MAX_ID_BYTES && Buffer.byteLength(s, 'utf8') > MAX_ID_BYTES)) {
    return fail('too-long', `SPIFFE ID is ${Buffer.byteLength(s, 'utf8')} bytes; at most ${MAX_ID_BYTES} are allowed`);
  }

  if (!s.startsWith(SCHEME)) {
    const sep = s.indexOf('://');
    if (sep === -1) return fail('scheme', `SPIFFE ID must start with "spiffe://", got ${showString(s)}`);
    const scheme = s.slice(0, sep);
    if (scheme.toLowerCase() === 'spiffe') {
      return fail('scheme', `scheme must be lower-case "spiffe", got ${showString(scheme)}`);
    }
    return fail('scheme', `scheme must be "spiffe", got ${showString(scheme)}`);
  }

  const n = s.length;
  const tdStart = SCHEME.length;
  let i = tdStart;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === SLASH) break;
    if (c < 128 && (CHAR_CLASS[c]! & TD_CHAR) !== 0) continue;
    return charError(s, i, false);
  }
  const tdEnd = i;
  if (tdEnd === tdStart) return fail('trust-domain', 'trust domain is missing');
  // Trust-domain characters are ASCII, so here characters are bytes.
  if (tdEnd - tdStart > MAX_TRUST_DOMAIN_BYTES) {
    return fail('too-long', `trust domain is ${tdEnd - tdStart} bytes; at most ${MAX_TRUST_DOMAIN_BYTES} are allowed`);
  }

  while (i < n) {
    const segStart = ++i; // step over the "/"
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === SLASH) break;
      if (c < 128 && (CHAR_CLASS[c]! & PATH_CHAR) !== 0) continue;
      return charError(s, i, true);
    }
    const len = i - segStart;
    if (len === 0) {
      return i === n
        ? fail('path', 'trailing slash is not allowed')
        : fail('path', `empty path segment ("//" at offset ${segStart - 1}) is not allowed`);
    }
    if (s.charCodeAt(segStart) === DOT && (len === 1 || (len === 2 && s.charCodeAt(segStart + 1) === DOT))) {
      return fail('path', `path segment ${JSON.stringify(s.slice(segStart, i))} is not allowed`);
    }
  }

  return { ok: true, id: { trustDomain: s.slice(tdStart, tdEnd), path: s.slice(tdEnd), uri: s } };
}

/** Exact comparison: trust domains are never case-folded, and a valid one is already lower-case. */
export function isInTrustDomain(id: SpiffeId, trustDomain: string): boolean {
  return id.trustDomain === trustDomain;
}

/**
 * `spiffe://<td>`, the ID a CA certificate carries. Throws TypeError on an invalid trust domain:
 * it comes from configuration, and a CA must not be minted with an ID no verifier would accept.
 */
export function trustDomainId(trustDomain: string): string {
  const uri = SCHEME + trustDomain;
  const parsed = parseSpiffeId(uri);
  if (!parsed.ok) throw new TypeError(`invalid trust domain ${showString(trustDomain)}: ${parsed.error.message}`);
  if (parsed.id.path !== '') {
    throw new TypeError(`invalid trust domain ${showString(trustDomain)}: it must not contain "/"`);
  }
  return uri;
}
