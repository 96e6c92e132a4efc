// The http-01 half of the k6 ACME scenario. k6 cannot listen for connections, so it PUTs each
// key authorization here (control port), and this process serves it where the CA validates:
// GET /.well-known/acme-challenge/<token> on the challenge port. Point the ACME names'
// DNS at this host and the CA's `acme.validation.http01Port` at the challenge port.
//
//   node --import tsx load/k6/http01-responder.ts --port 80 --control-port 8089

import { createServer, type Server } from 'node:http';
import { parseArgs } from 'node:util';

const PREFIX = '/.well-known/acme-challenge/';
/** Key authorizations are small; a bound keeps a stray client from filling memory. */
const MAX_BODY = 512;

export interface Responder {
  readonly challenge: Server;
  readonly control: Server;
  close(): Promise<void>;
}

export async function startResponder(port: number, controlPort: number, host = '0.0.0.0', controlHost = '127.0.0.1'): Promise<Responder> {
  const answers = new Map<string, string>();
  const challenge = createServer((req, res) => {
    const ka = req.method === 'GET' && req.url?.startsWith(PREFIX) ? answers.get(req.url.slice(PREFIX.length)) : undefined;
    res.writeHead(ka ? 200 : 404, { 'content-type': 'text/plain' }).end(ka ?? '');
  });
  const control = createServer((req, res) => {
    const token = (req.url ?? '/').slice(1);
    if (req.method !== 'PUT' || !/^[A-Za-z0-9_-]{16,}$/.test(token)) return void res.writeHead(400).end('PUT /<token> with the key authorization\n');
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > MAX_BODY) req.destroy();
    });
    req.on('end', () => {
      answers.set(token, body);
      res.writeHead(204).end();
    });
  });
  challenge.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => challenge.listen(port, host, r));
  await new Promise<void>((r) => control.listen(controlPort, controlHost, r));
  return {
    challenge,
    control,
    close: async () => {
      await new Promise((r) => challenge.close(r));
      await new Promise((r) => control.close(r));
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '80' }, 'control-port': { type: 'string', default: '8089' } } });
  const r = await startResponder(Number(values.port), Number(values['control-port']));
  const addr = (s: Server): number => (s.address() as { port: number }).port;
  console.log(`http-01 answers on :${addr(r.challenge)}; k6 publishes key authorizations to http://127.0.0.1:${addr(r.control)}/<token>`);
}
