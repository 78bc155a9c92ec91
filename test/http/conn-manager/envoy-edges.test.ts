/**
 * Connection manager behaviours where Legate once differed from Envoy, on real sockets:
 * `:scheme` of origin-form requests (set by the connection manager, not the codec), absolute-form
 * `https://` targets on a plaintext connection (`validate_scheme` at the edge), local replies
 * with a binary body, and the `DC` response flag when the downstream goes away before the
 * response is complete (a half-close included: Envoy runs HTTP/1 without half-close).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DENY_BYTES,
  echoHeader,
  eventually,
  fetchOnce,
  filter,
  get,
  RawClient,
  startServer,
} from './harness.ts';

/** An absolute-form GET for `url`. */
function absolute(url: string, headers: Record<string, string> = {}): string {
  let out = `GET ${url} HTTP/1.1\r\nhost: ignored.example\r\n`;
  for (const [k, v] of Object.entries(headers)) out += `${k}: ${v}\r\n`;
  return `${out}\r\n`;
}

describe(':scheme', () => {
  test('an origin-form request gets :scheme and x-forwarded-proto from the plaintext connection', async () => {
    const s = await startServer();
    try {
      const { echo } = await fetchOnce(s.port, get('/'));
      assert.equal(echoHeader(echo, ':scheme'), 'http');
      assert.equal(echoHeader(echo, 'x-forwarded-proto'), 'http');
      // Exactly one :scheme: the codec gave none for the connection manager to overwrite.
      assert.equal(echo?.headers.filter(([k]) => k === ':scheme').length, 1);
    } finally {
      await s.close();
    }
  });

  test('an absolute-form target keeps its own scheme even when x-forwarded-proto differs', async () => {
    const s = await startServer();
    try {
      const { echo } = await fetchOnce(
        s.port,
        absolute('http://a.example/p', { 'x-forwarded-proto': 'https' }),
      );
      assert.equal(echoHeader(echo, ':scheme'), 'http');
      assert.equal(echoHeader(echo, ':authority'), 'a.example');
      assert.equal(echoHeader(echo, 'x-forwarded-proto'), 'https');
      assert.equal(echo?.path, '/p');
    } finally {
      await s.close();
    }
  });

  test('an https:// target on plaintext is refused with 403 at the edge, before any filter runs', async () => {
    const s = await startServer({ hcm: { use_remote_address: true } });
    try {
      const { response, client } = await fetchOnce(s.port, absolute('https://a.example/secret'));
      assert.equal(response.status, 403);
      assert.equal(response.body, 'Forbidden');
      assert.equal(response.header('connection'), 'close');
      assert.equal(response.header('content-type'), 'text/plain');
      await client.waitClosed();
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, / 403 DPE /);
      assert.equal(s.counter('downstream_cx_protocol_error'), 1);
    } finally {
      await s.close();
    }
  });

  test('behind trusted hops, or without use_remote_address, the https:// target is proxied as https', async () => {
    for (const hcm of [{}, { use_remote_address: true, xff_num_trusted_hops: 1 }]) {
      const s = await startServer({ hcm });
      try {
        const { response, echo } = await fetchOnce(s.port, absolute('https://a.example:8443/x?y=1'));
        assert.equal(response.status, 200, JSON.stringify(hcm));
        assert.equal(echoHeader(echo, ':scheme'), 'https');
        assert.equal(echoHeader(echo, ':authority'), 'a.example:8443');
        assert.equal(echo?.path, '/x?y=1');
      } finally {
        await s.close();
      }
    }
  });
});

describe('local replies', () => {
  test('a Buffer body is sent byte for byte with its length', async () => {
    const s = await startServer({ hcm: { http_filters: [filter('test.deny'), filter('test.answer')] } });
    try {
      const { response } = await fetchOnce(s.port, get('/', { 'x-test-deny-bytes': '1' }));
      assert.equal(response.status, 403);
      assert.equal(response.header('content-length'), String(DENY_BYTES.length));
      assert.deepEqual(Buffer.from(response.body, 'latin1'), DENY_BYTES);
    } finally {
      await s.close();
    }
  });
});

describe('the downstream going away: DC', () => {
  test('a half-close while the response is awaited resets the stream, logged 0 DC', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/held', { 'x-test-hold': '1' }));
      await eventually(() => s.counter('downstream_rq_total') === 1, 'the request');
      c.end();
      await c.waitClosed();
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, /"GET \/held HTTP\/1.1" 0 DC /);
      assert.equal(c.received, '', 'no response after the peer left');
      assert.equal(s.counter('downstream_rq_rx_reset'), 1);
      await eventually(() => s.counter('downstream_cx_destroy_remote_active_rq') === 1, 'the close');
    } finally {
      await s.close();
    }
  });

  test('a client that leaves in the middle of the response body is logged with its status and DC', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/body', { 'x-test-hold-body': '1' }));
      await c.waitFor('\r\n\r\n');
      assert.match(c.received, /^HTTP\/1\.1 200 OK\r\n/);
      c.destroy();
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, /"GET \/body HTTP\/1.1" 200 DC /);
    } finally {
      await s.close();
    }
  });

  test('a completed response is not DC when the client closes afterwards', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/done'));
      await c.response();
      c.end();
      await c.waitClosed();
      await eventually(() => s.logs.length === 1, 'the access log');
      assert.match(s.logs[0]!, /"GET \/done HTTP\/1.1" 200 - /);
    } finally {
      await s.close();
    }
  });
});
