// EST's wire format (RFC 7030 §4 as updated by RFC 8951): every body is base64-encoded DER,
// whether or not a Content-Transfer-Encoding header says so, with or without line breaks.

/** Why a body could not be read; the caller turns it into a 400 or 415. */
export type WireError = { readonly status: 400 | 415; readonly message: string };

export type Decoded = { readonly ok: true; readonly der: Buffer } | { readonly ok: false; readonly error: WireError };

const WHITESPACE = /[\r\n\t ]+/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes a base64 body strictly: whitespace anywhere is ignored (RFC 8951 allows line breaks),
 * anything else outside the base64 alphabet, missing padding or non-canonical trailing bits is
 * an error. Node's own decoder skips bad characters silently, which would let two readers of
 * the same body disagree about what it says.
 */
export function decodeBase64Body(body: Buffer | string): Decoded {
  const text = (typeof body === 'string' ? body : body.toString('latin1')).replace(WHITESPACE, '');
  if (text.length === 0) return fail(400, 'the request body is empty; send the base64-encoded DER');
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    return fail(400, 'the request body is not valid base64 (RFC 8951: base64-encoded DER, line breaks allowed)');
  }
  const der = Buffer.from(text, 'base64');
  // Non-zero bits in the last character's padding position: a different text for the same bytes.
  if (der.toString('base64') !== text) return fail(400, 'the request body is not canonical base64');
  return { ok: true, der };
}

/** Base64 in lines of 64 characters, CRLF-terminated, as EST clients from the RFC 7030 era expect. */
export function encodeBase64Body(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\r\n`;
  return out;
}

/** The media type of a Content-Type header, lower-case, without parameters. */
export function mediaType(header: string | undefined): string | null {
  if (header === undefined) return null;
  const type = header.split(';', 1)[0]!.trim().toLowerCase();
  return type === '' ? null : type;
}

/**
 * RFC 8951 §3: the body is base64 whatever this header says, so its absence is fine; a
 * transfer encoding that contradicts base64 is refused rather than guessed at.
 */
export function checkTransferEncoding(header: string | string[] | undefined): WireError | null {
  if (header === undefined) return null;
  const value = (Array.isArray(header) ? header.join(',') : header).trim().toLowerCase();
  if (value === 'base64' || value === '7bit' || value === '8bit' || value === '') return null;
  return { status: 400, message: `Content-Transfer-Encoding ${JSON.stringify(value)} is not supported; EST bodies are base64 (RFC 8951)` };
}

function fail(status: 400 | 415, message: string): Decoded {
  return { ok: false, error: { status, message } };
}
