// Syntax checks on what validateChallenge is given. The identifier, token and key authorization
// end up in host names, URL paths and SNI, so anything that is not plainly what RFC 8555 allows
// is refused before any packet is sent.

import { isIP } from 'node:net';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * A host name in the LDH form DNS and SNI can carry, lower-cased; null for anything else.
 * IP literals and wildcards are refused here: IP identifiers (RFC 8738) are not offered, and a
 * wildcard order is validated against its base name, which the caller passes instead.
 */
export function normalizeHostName(value: string): string | null {
  if (value.length === 0 || value.length > 253 || isIP(value) !== 0) return null;
  const name = value.toLowerCase();
  const labels = name.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  // An all-numeric last label would make URL parsers read the name as an IPv4 address.
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return null;
  return name;
}

/** RFC 8555 §8.1, §8.3: a token is base64url, and the key authorization is token "." thumbprint. */
export function checkTokenAndKeyAuthorization(token: string, keyAuthorization: string): string | null {
  if (!BASE64URL.test(token)) return 'the challenge token is not base64url';
  const dot = keyAuthorization.indexOf('.');
  if (dot < 0 || keyAuthorization.slice(0, dot) !== token) return 'the key authorization does not start with the token and a dot';
  if (!BASE64URL.test(keyAuthorization.slice(dot + 1))) return 'the key authorization thumbprint is not base64url';
  return null;
}
