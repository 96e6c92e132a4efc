// What went wrong before a route could answer (the body parser, the schema, the router, Node's
// HTTP parser), as one small vocabulary. Each protocol renders it in its own format: problem
// JSON on the API, an ACME problem document, EST's text/plain. Without this, each plugin kept a
// near copy of the same error-code switch, and errors Node or the router answered themselves
// went out as the framework's own JSON.

export type FrameworkError =
  | { readonly kind: 'body-too-large' }
  | { readonly kind: 'unsupported-media-type' }
  /** The body could not be read as what the content type says (invalid or empty JSON). */
  | { readonly kind: 'malformed-body'; readonly detail: string }
  /** The request was read but is not acceptable (schema validation, any other client error). */
  | { readonly kind: 'invalid-request'; readonly detail: string }
  | { readonly kind: 'not-found' }
  | { readonly kind: 'header-too-large' }
  | { readonly kind: 'uri-too-long' }
  | { readonly kind: 'internal' };

export type FrameworkStatus = 400 | 404 | 413 | 414 | 415 | 431 | 500;

/** The HTTP status each kind is answered with, whatever the format. */
export const FRAMEWORK_STATUS: { readonly [K in FrameworkError['kind']]: FrameworkStatus } = {
  'body-too-large': 413,
  'unsupported-media-type': 415,
  'malformed-body': 400,
  'invalid-request': 400,
  'not-found': 404,
  'header-too-large': 431,
  'uri-too-long': 414,
  internal: 500,
};

interface ErrorLike {
  readonly code?: string;
  readonly statusCode?: number;
  readonly message?: string;
  readonly validation?: unknown;
}

export function classifyFrameworkError(err: ErrorLike): FrameworkError {
  if (err.validation) return { kind: 'invalid-request', detail: err.message ?? 'the request does not match the schema' };
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { kind: 'body-too-large' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_MISSING_CONTENT_TYPE':
      return { kind: 'unsupported-media-type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return { kind: 'malformed-body', detail: 'the request body is not valid JSON' };
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return { kind: 'uri-too-long' };
    case 'HPE_HEADER_OVERFLOW':
      return { kind: 'header-too-large' };
  }
  if (err.statusCode === 413) return { kind: 'body-too-large' };
  if (err.statusCode === 414) return { kind: 'uri-too-long' };
  if (err.statusCode === 431) return { kind: 'header-too-large' };
  if (err.statusCode === 404) return { kind: 'not-found' };
  if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return { kind: 'invalid-request', detail: err.message ?? 'bad request' };
  }
  return { kind: 'internal' };
}

/** A sentence for each kind, with the plugin's body limit and media type where it knows them. */
export function frameworkDetail(e: FrameworkError, context: { readonly bodyLimit?: number; readonly mediaType?: string } = {}): string {
  switch (e.kind) {
    case 'body-too-large':
      return context.bodyLimit === undefined ? 'the request body is too large' : `the request body is larger than ${context.bodyLimit} bytes`;
    case 'unsupported-media-type':
      return `send Content-Type: ${context.mediaType ?? 'application/json'}`;
    case 'malformed-body':
    case 'invalid-request':
      return e.detail;
    case 'not-found':
      return 'no such resource';
    case 'header-too-large':
      return 'the request headers are too large';
    case 'uri-too-long':
      return 'the request URI (or a part of its path) is too long';
    case 'internal':
      return 'internal error';
  }
}
