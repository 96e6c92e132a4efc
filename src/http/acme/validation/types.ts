// The vocabulary shared by the three challenge validators and their caller.

export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

export interface ValidationSettings {
  readonly http01Port: number;
  readonly tlsAlpn01Port: number;
  /** "host:port" of the DNS server to use for A/AAAA/TXT lookups, or null for the system resolver. */
  readonly resolver: string | null;
  /** The whole validation, name resolution and every redirect included. */
  readonly timeoutMs: number;
  readonly maxRedirects: number;
  readonly maxResponseBytes: number;
  /** CIDR networks validation may connect to; empty: any address not denied, except loopback. */
  readonly allowedNetworks: readonly string[];
  /** CIDR networks validation never connects to, on top of the built-in ones (see networks.ts). */
  readonly deniedNetworks: readonly string[];
}

/** Each maps to the ACME error type `urn:ietf:params:acme:error:<type>`. */
export type ValidationErrorType = 'connection' | 'dns' | 'incorrectResponse' | 'unauthorized' | 'tls' | 'malformed';

export interface ValidationError {
  readonly type: ValidationErrorType;
  readonly detail: string;
}

/** `address`: the IP address the result came from (or was refused), when one was involved. */
export type ValidationOutcome =
  | { readonly ok: true; readonly address?: string }
  | { readonly ok: false; readonly error: ValidationError; readonly address?: string };

export function failed(type: ValidationErrorType, detail: string): ValidationOutcome & { ok: false } {
  return { ok: false, error: { type, detail } };
}

/** Quotes text from the network for a problem detail: escaped, and short enough to log. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
