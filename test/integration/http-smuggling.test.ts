/**
 * Request smuggling end to end: the nastiest entries of the HTTP/1 corpus (test/http/corpus/)
 * through a real legate process to a real upstream on 127.0.0.1. A malformed request gets the
 * corpus's local reply (400, or Envoy's 501 for an unimplemented transfer coding) with
 * `connection: close`, and the upstream receives nothing of it; a valid one arrives with the
 * bytes the corpus names: request line, fields in order, body byte for byte (less the fields
 * the connection manager adds on every request, which are checked separately).
 *
 * The upstream records the raw bytes of its connections and hands them to Node's own HTTP
 * server (llhttp, strict) through an in-memory duplex, so it sees exactly what legate wrote
 * and still answers each request it can parse.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { CorpusEntry } from '../http/corpus/requests.ts';
import { REQUEST_CORPUS } from '../http/corpus/requests.ts';
import { freePort, httpProxyConfig, type Legate, startLegate, stat } from './harness.ts';

/** Corpus entries replayed end to end: framing obfuscations, line-ending tricks, valid look-alikes. */
const CASES = [
  // Rejected before anything reaches the upstream.
  'CL.TE: Content-Length then Transfer-Encoding',
  'TE.CL: Transfer-Encoding then Content-Length',
  'CL.CL: two different Content-Length fields',
  'two identical Content-Length fields',
  'TE.TE: xchunked',
  'TE.TE: chunked, identity',
  'TE.TE: identity, chunked',
  'TE.TE: an empty list element before chunked',
  'TE.TE: a non-breaking space before chunked',
  'TE.TE: chunked followed by a vertical tab',
  'TE.TE: "Transfer-Encoding : chunked" with Content-Length',
  'obs-fold hiding chunked',
  'TE.TE: a field line ended by a bare CR hides Transfer-Encoding',
  'an empty Transfer-Encoding line before chunked',
  'a Content-Length with a plus sign',
  'a Content-Length of 2^64',
  'a 0x-prefixed chunk size',
  'a chunk size of 2^64 + 5 that wraps to 5',
  'LF-only chunk framing',
  'a quoted chunk extension hiding a last chunk and a request',
  'the last chunk without its final CRLF, then a request',
  'a Content-Length trailer when trailers are not forwarded',
  'an upgrade with Transfer-Encoding',
  'two Host fields',
  'no Host in HTTP/1.1',
  'a userinfo that looks like a host',
  'a NUL in a value',
  'a request line ended by a bare LF',
  'the HTTP/2 connection preface on an HTTP/1 listener',
  // Forwarded, then the rest of the connection rejected.
  'a valid request, then a CL.TE request on the same connection',
  // Forwarded byte for byte.
  'a TE.CL body that looks like a smuggled request is chunk data',
  'CL.0: a body on a request whose Content-Length is 0 is the next request',
  'TE.TE: Transfer_Encoding beside Content-Length is just another field',
  'every byte value in a Content-Length body arrives unchanged',
  'Transfer-Encoding: CHUNKED in upper case',
  'obs-text in a value arrives byte for byte',
  'absolute-form authority overrides a different Host',
];

/** Fields the connection manager adds to every forwarded request (Envoy's defaults). */
const ADDED = ['x-forwarded-proto', 'x-request-id', 'x-envoy-expected-rq-timeout-ms'];

/** An upstream that records every byte it receives and answers each request 200. */
class RecordingUpstream {
  private server: net.Server | null = null;
  private readonly http = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end());
  });
  private readonly sockets = new Set<net.Socket>();
  received = '';
  port = 0;

  async start(): Promise<void> {
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      // Node's server reads from a duplex it cannot consume natively, so every byte passes here.
      const duplex = new Duplex({
        read() {},
        write(chunk: Buffer, _encoding, callback) {
          socket.write(chunk, callback);
        },
        final(callback) {
          socket.end(callback);
        },
        destroy(error, callback) {
          socket.destroy();
          callback(error);
        },
      });
      socket.on('data', (d: Buffer) => {
        this.received += d.toString('latin1');
        duplex.push(d);
      });
      socket.on('end', () => duplex.push(null));
      socket.on('close', () => duplex.destroy());
      this.http.emit('connection', duplex);
    });
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * Sends `raw` on a new connection and collects the replies until the connection closes or
 * `responses` complete responses have arrived (then closes it).
 */
function exchange(port: number, raw: string, responses: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply within 5 s; got ${JSON.stringify(got)}`));
    }, 5000);
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (complete(got) >= responses) done();
    });
    socket.on('close', done);
    socket.on('error', () => {});
    socket.on('connect', () => socket.write(Buffer.from(raw, 'latin1')));
  });
}

/** How many complete responses `text` holds (each with a content-length, as legate sends). */
function complete(text: string): number {
  let n = 0;
  let p = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', p);
    if (end < 0) return n;
    const head = text.slice(p, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const next = end + 4 + (length === null ? 0 : Number(length[1]));
    if (next > text.length) return n;
    n++;
    p = next;
  }
}

/**
 * Splits well-framed requests as legate writes them (Content-Length or chunked bodies) into
 * [head, rest of the message] pairs.
 */
function messages(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let p = 0;
  while (p < text.length) {
    const end = text.indexOf('\r\n\r\n', p);
    if (end < 0) {
      out.push([text.slice(p), '']);
      break;
    }
    const head = text.slice(p, end);
    let q = end + 4;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (length !== null) q += Number(length[1]);
    else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const lineEnd = text.indexOf('\r\n', q);
        if (lineEnd < 0) {
          q = text.length;
          break;
        }
        const size = Number.parseInt(text.slice(q, lineEnd), 16);
        q = lineEnd + 2;
        if (size === 0) {
          const trailersEnd = text.indexOf('\r\n\r\n', q - 2);
          q = trailersEnd < 0 ? text.length : trailersEnd + 4;
          break;
        }
        q += size + 2;
      }
    }
    out.push([head, text.slice(end, Math.min(q, text.length))]);
    p = q;
  }
  return out;
}

/** The forwarded bytes less the fields the connection manager adds; checks those are present. */
function withoutAddedFields(text: string): string {
  return messages(text)
    .map(([head, rest]) => {
      const lines = head.split('\r\n');
      for (const name of ADDED) {
        assert.ok(
          lines.some((l) => l.startsWith(`${name}: `)),
          `${name} added to ${JSON.stringify(lines[0])}`,
        );
      }
      return lines.filter((l) => !ADDED.some((name) => l.startsWith(`${name}: `))).join('\r\n') + rest;
    })
    .join('');
}

describe('request smuggling through a real legate', () => {
  const upstream = new RecordingUpstream();
  let legate: Legate;
  let port = 0;
  const entries = CASES.map((name) => {
    const entry = REQUEST_CORPUS.find((e) => e.name === name);
    assert.ok(entry !== undefined, `corpus entry ${name}`);
    assert.equal(entry.settings, undefined, `${name}: e2e cases use Envoy's defaults`);
    return entry as CorpusEntry;
  });

  before(async () => {
    await upstream.start();
    port = await freePort();
    legate = await startLegate(httpProxyConfig(port, upstream.port, { cluster: 'upstream' }), [
      '--concurrency',
      '1',
    ]);
  });
  after(async () => {
    await legate?.stop();
    await upstream.stop();
  });

  test('every case: the local reply downstream and exactly the expected bytes upstream', async () => {
    let forwardedRequests = 0;
    for (const entry of entries) {
      upstream.received = '';
      const requests = entry.forwarded === '' ? 0 : messages(entry.forwarded).length;
      // A rejection closes the connection; waiting for one reply more than the forwarded requests
      // also ends the wait if legate wrongly answered the rejected request.
      const reply = await exchange(port, entry.raw, entry.rejected === undefined ? requests : requests + 1);
      forwardedRequests += requests;
      const statuses = [...reply.matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]));
      if (entry.rejected === undefined) {
        assert.deepEqual(statuses, Array(requests).fill(200), `${entry.name}: ${JSON.stringify(reply)}`);
      } else {
        assert.deepEqual(
          statuses,
          [...Array(requests).fill(200), entry.rejected.status],
          `${entry.name}: ${JSON.stringify(reply)}`,
        );
        assert.match(reply, /\r\nconnection: close\r\n/, entry.name);
      }
      assert.equal(
        JSON.stringify(withoutAddedFields(upstream.received)),
        JSON.stringify(entry.forwarded),
        `${entry.name}: bytes the upstream received`,
      );
    }
    // Nothing else reached the upstream, on any connection.
    assert.equal(await stat(legate.admin, 'cluster.upstream.upstream_rq_total'), forwardedRequests);
  });
});
