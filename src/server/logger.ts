// The process's structured logger (pino, JSON lines on stdout). Made once per serving process and
// shared by the HTTP layer and the audit decision log, so every line of a process has the same
// shape and level. Redaction is a second line of defence: no code path is meant to log a
// credential, but a header or key that slips into a logged object is blanked rather than written.

import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.js';

const REDACT = [
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'headers.cookie',
  '*.headers.cookie',
  'token',
  '*.token',
  'hmacKey',
  '*.hmacKey',
  'privateKey',
  '*.privateKey',
  'password',
  '*.password',
];

export function createLogger(level: Config['logLevel']): Logger {
  return pino({ level, redact: { paths: REDACT, censor: '[redacted]' } });
}
