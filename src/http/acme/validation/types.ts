// The vocabulary shared by the three challenge validators and their caller.

import type { AcmeValidationConfig } from '../../../config/config.js';

export type ChallengeType = 'http-01' | 'dns-01' | 'tls-alpn-01';

/** acme.validation: the one definition is the configuration schema (config/schema.ts). */
export type ValidationSettings = AcmeValidationConfig;

/** Each maps to the ACME error type `urn:ietf:params:acme:error:<type>`. */
export type ValidationErrorType = 'connection' | 'dns' | 'incorrectResponse' | 'unauthorized' | 'tls' | 'malformed';

export interface ValidationError {
  readonly type: ValidationErrorType;
  readonly detail: string;
}

/** `address`: the IP address the result came from (or was refused), when one was involved. */
export type ValidationOutcome =
  { readonly ok: true; readonly address?: string } | { readonly ok: false; readonly error: ValidationError; readonly address?: string };

export function failed(type: ValidationErrorType, detail: string): ValidationOutcome & { ok: false } {
  return { ok: false, error: { type, detail } };
}

/** Quotes text from the network for a problem detail: escaped, and short enough to log. */
export function quote(text: string, max = 64): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
