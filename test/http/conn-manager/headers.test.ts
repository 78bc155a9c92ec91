/**
 * The connection manager's header rules on real sockets, as Envoy applies them: x-forwarded-for
 * with use_remote_address / xff_num_trusted_hops / skip_xff_append and internal addresses
 * (a table of cases), the x-envoy-* headers only internal peers may send, x-request-id, via,
 * the server header transformations, hop-by-hop header stripping both ways, :scheme and
 * x-forwarded-proto, host normalization, headers with underscores and the header limits.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ProtoMessage } from '../../../src/config/types.ts';
import { echoHeader, echoHeaders, fetchOnce, get, RawClient, startServer } from './harness.ts';

/** The address XFF gets for a loopback peer: fixed here so results do not depend on the host. */
const LOCAL = '10.0.0.1';

interface XffCase {
  readonly name: string;
  readonly hcm: ProtoMessage;
  readonly xff?: string;
  readonly expectXff: string | undefined;
  readonly expectInternal: boolean;
  readonly expectExternalAddress: string | undefined;
  readonly expectRemote: string;
}

const XFF_CASES: readonly XffCase[] = [
  {
    name: 'use_remote_address, no XFF: the loopback peer is replaced by the local address; internal',
    hcm: { use_remote_address: true },
    expectXff: LOCAL,
    expectInternal: true,
    expectExternalAddress: undefined,
    expectRemote: '127.0.0.1',
  },
  {
    name: 'use_remote_address with an XFF: appended, external edge request',
    hcm: { use_remote_address: true },
    xff: '1.2.3.4',
    expectXff: `1.2.3.4,${LOCAL}`,
    expectInternal: false,
    expectExternalAddress: '127.0.0.1',
    expectRemote: '127.0.0.1',
  },
  {
    name: 'use_remote_address and one trusted hop: the client is the last XFF entry',
    hcm: { use_remote_address: true, xff_num_trusted_hops: 1 },
    xff: '1.2.3.4, 5.6.7.8',
    expectXff: `1.2.3.4, 5.6.7.8,${LOCAL}`,
    expectInternal: false,
    expectExternalAddress: '5.6.7.8',
    expectRemote: '5.6.7.8',
  },
  {
    name: 'use_remote_address and skip_xff_append: XFF untouched',
    hcm: { use_remote_address: true, skip_xff_append: true },
    expectXff: undefined,
    expectInternal: true,
    expectExternalAddress: undefined,
    expectRemote: '127.0.0.1',
  },
  {
    name: 'trusted XFF with one RFC 1918 address: internal, XFF kept',
    hcm: {},
    xff: '10.1.1.1',
    expectXff: '10.1.1.1',
    expectInternal: true,
    expectExternalAddress: undefined,
    expectRemote: '10.1.1.1',
  },
  {
    name: 'trusted XFF with a public address: external but not an edge request',
    hcm: {},
    xff: '1.2.3.4',
    expectXff: '1.2.3.4',
    expectInternal: false,
    expectExternalAddress: undefined,
    expectRemote: '1.2.3.4',
  },
  {
    name: 'no XFF without use_remote_address: external even from loopback',
    hcm: {},
    expectXff: undefined,
    expectInternal: false,
    expectExternalAddress: undefined,
    expectRemote: '127.0.0.1',
  },
  {
    name: 'one trusted hop without use_remote_address: the second-to-last entry, never internal',
    hcm: { xff_num_trusted_hops: 1 },
    xff: '10.1.1.1,1.2.3.4',
    expectXff: '10.1.1.1,1.2.3.4',
    expectInternal: false,
    expectExternalAddress: undefined,
    expectRemote: '10.1.1.1',
  },
  {
    name: 'internal_address_config CIDR ranges replace the default internal ranges',
    hcm: { internal_address_config: { cidr_ranges: [{ address_prefix: '192.0.2.0', prefix_len: 24 }] } },
    xff: '192.0.2.7',
    expectXff: '192.0.2.7',
    expectInternal: true,
    expectExternalAddress: undefined,
    expectRemote: '192.0.2.7',
  },
  {
    name: 'with internal_address_config, an RFC 1918 address is no longer internal',
    hcm: { internal_address_config: { cidr_ranges: [{ address_prefix: '192.0.2.0', prefix_len: 24 }] } },
    xff: '10.1.1.1',
    expectXff: '10.1.1.1',
    expectInternal: false,
    expectExternalAddress: undefined,
    expectRemote: '10.1.1.1',
  },
];

const ENVOY_REQUEST_HEADERS = {
  'x-envoy-retry-on': '5xx',
  'x-envoy-max-retries': '3',
  'x-envoy-upstream-rq-timeout-ms': '100',
  'x-envoy-expected-rq-timeout-ms': '100',
  'x-envoy-internal': 'true',
};

describe('x-forwarded-for and internal requests', () => {
  for (const c of XFF_CASES) {
    test(c.name, async () => {
      const s = await startServer({ hcm: c.hcm, overrides: { localAddress: LOCAL } });
      try {
        const headers: Record<string, string> = { ...ENVOY_REQUEST_HEADERS };
        if (c.xff !== undefined) headers['x-forwarded-for'] = c.xff;
        const { echo } = await fetchOnce(s.port, get('/xff', headers));
        assert.equal(echoHeader(echo, 'x-forwarded-for'), c.expectXff, 'x-forwarded-for');
        assert.equal(echo!.internal, c.expectInternal, 'the router sees the request as internal');
        assert.equal(echoHeader(echo, 'x-envoy-internal'), c.expectInternal ? 'true' : undefined);
        assert.equal(echoHeader(echo, 'x-envoy-external-address'), c.expectExternalAddress);
        assert.equal(echo!.remote, c.expectRemote, 'the downstream remote address');
        // Only internal peers may steer retries and timeouts.
        assert.equal(echoHeader(echo, 'x-envoy-retry-on'), c.expectInternal ? '5xx' : undefined);
        assert.equal(echoHeader(echo, 'x-envoy-max-retries'), c.expectInternal ? '3' : undefined);
        assert.equal(
          echoHeader(echo, 'x-envoy-upstream-rq-timeout-ms'),
          c.expectInternal ? '100' : undefined,
        );
        assert.equal(
          echoHeader(echo, 'x-envoy-expected-rq-timeout-ms'),
          c.expectInternal ? '100' : undefined,
        );
      } finally {
        await s.close();
      }
    });
  }

  test('internal_only_headers of the route configuration are removed from external requests only', async () => {
    const routes = {
      internal_only_headers: ['x-secret'],
      virtual_hosts: [
        { name: 'vh', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' } }] },
      ],
    };
    const s = await startServer({ hcm: { route_config: routes } });
    try {
      const external = await fetchOnce(s.port, get('/', { 'x-secret': '1', 'x-forwarded-for': '1.2.3.4' }));
      assert.equal(echoHeader(external.echo, 'x-secret'), undefined);
      const internal = await fetchOnce(s.port, get('/', { 'x-secret': '1', 'x-forwarded-for': '10.0.0.9' }));
      assert.equal(echoHeader(internal.echo, 'x-secret'), '1');
    } finally {
      await s.close();
    }
  });

  test('x-forwarded-proto is set from the connection, and overwritten from an untrusted peer', async () => {
    const trusting = await startServer();
    const edge = await startServer({ hcm: { use_remote_address: true } });
    try {
      const a = await fetchOnce(
        trusting.port,
        get('/', { 'x-forwarded-proto': 'https', 'x-forwarded-for': '1.2.3.4' }),
      );
      assert.equal(echoHeader(a.echo, 'x-forwarded-proto'), 'https');
      assert.equal(echoHeader(a.echo, ':scheme'), 'https', ':scheme follows a trusted x-forwarded-proto');
      const b = await fetchOnce(edge.port, get('/', { 'x-forwarded-proto': 'https' }));
      assert.equal(echoHeader(b.echo, 'x-forwarded-proto'), 'http');
      assert.equal(echoHeader(b.echo, ':scheme'), 'http');
      const c = await fetchOnce(trusting.port, get('/'));
      assert.equal(echoHeader(c.echo, 'x-forwarded-proto'), 'http');
    } finally {
      await trusting.close();
      await edge.close();
    }
  });
});

describe('x-request-id', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  test('is generated when absent', async () => {
    const s = await startServer();
    try {
      const { echo, response } = await fetchOnce(s.port, get('/'));
      assert.match(echoHeader(echo, 'x-request-id')!, UUID);
      assert.equal(
        response.header('x-request-id'),
        undefined,
        'not echoed unless always_set_request_id_in_response',
      );
    } finally {
      await s.close();
    }
  });

  test('an external edge request’s id is replaced, unless preserve_external_request_id', async () => {
    const replacing = await startServer({ hcm: { use_remote_address: true } });
    const preserving = await startServer({
      hcm: { use_remote_address: true, preserve_external_request_id: true },
    });
    try {
      const headers = { 'x-request-id': 'client-id', 'x-forwarded-for': '1.2.3.4' };
      const a = await fetchOnce(replacing.port, get('/', headers));
      assert.match(echoHeader(a.echo, 'x-request-id')!, UUID);
      const b = await fetchOnce(preserving.port, get('/', headers));
      assert.equal(echoHeader(b.echo, 'x-request-id'), 'client-id');
    } finally {
      await replacing.close();
      await preserving.close();
    }
  });

  test('a request that is not from the edge keeps its id', async () => {
    const s = await startServer();
    try {
      const { echo } = await fetchOnce(s.port, get('/', { 'x-request-id': 'kept' }));
      assert.equal(echoHeader(echo, 'x-request-id'), 'kept');
    } finally {
      await s.close();
    }
  });

  test('always_set_request_id_in_response returns the id; generate_request_id false adds none', async () => {
    const always = await startServer({ hcm: { always_set_request_id_in_response: true } });
    const never = await startServer({ hcm: { generate_request_id: false } });
    try {
      const a = await fetchOnce(always.port, get('/'));
      assert.equal(a.response.header('x-request-id'), echoHeader(a.echo, 'x-request-id'));
      const b = await fetchOnce(never.port, get('/'));
      assert.equal(echoHeader(b.echo, 'x-request-id'), undefined);
    } finally {
      await always.close();
      await never.close();
    }
  });
});

describe('via and server', () => {
  test('via is appended to the request and to the response', async () => {
    const s = await startServer({ hcm: { via: 'legate-test' } });
    try {
      const { echo, response } = await fetchOnce(
        s.port,
        get('/', { via: '1.1 first', 'x-test-response-header': 'via: 1.1 backend' }),
      );
      assert.equal(echoHeader(echo, 'via'), '1.1 first, legate-test');
      assert.equal(response.header('via'), '1.1 backend, legate-test');
    } finally {
      await s.close();
    }
  });

  const SERVER_CASES = [
    { mode: 'OVERWRITE', upstream: 'backend', expect: 'legate' },
    { mode: 'OVERWRITE', upstream: undefined, expect: 'legate' },
    { mode: 'APPEND_IF_ABSENT', upstream: 'backend', expect: 'backend' },
    { mode: 'APPEND_IF_ABSENT', upstream: undefined, expect: 'legate' },
    { mode: 'PASS_THROUGH', upstream: 'backend', expect: 'backend' },
    { mode: 'PASS_THROUGH', upstream: undefined, expect: undefined },
  ] as const;
  for (const c of SERVER_CASES) {
    test(`server_header_transformation ${c.mode} with ${c.upstream ?? 'no'} upstream server header gives ${c.expect ?? 'none'}`, async () => {
      const s = await startServer({ hcm: { server_name: 'legate', server_header_transformation: c.mode } });
      try {
        const headers: Record<string, string> =
          c.upstream === undefined ? {} : { 'x-test-response-header': `server: ${c.upstream}` };
        const { response } = await fetchOnce(s.port, get('/', headers));
        assert.equal(response.header('server'), c.expect);
      } finally {
        await s.close();
      }
    });
  }

  test('without server_name the server header is envoy', async () => {
    const s = await startServer();
    try {
      assert.equal((await fetchOnce(s.port, get('/'))).response.header('server'), 'envoy');
    } finally {
      await s.close();
    }
  });
});

describe('hop-by-hop headers', () => {
  test('connection-specific request headers are not forwarded', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(
        'POST / HTTP/1.1\r\nhost: x\r\nconnection: keep-alive, x-custom\r\nkeep-alive: timeout=5\r\n' +
          'proxy-connection: keep-alive\r\nupgrade: foo\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      );
      const echo = JSON.parse((await c.response()).body);
      for (const name of ['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'transfer-encoding']) {
        assert.equal(echoHeader(echo, name), undefined, name);
      }
      assert.equal(echo.body, 'abc');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('connection-specific response headers are not sent downstream', async () => {
    const s = await startServer();
    try {
      const c = await RawClient.connect(s.port);
      c.write(
        get('/', {
          'x-test-response-header': [
            'connection: x-backend',
            'keep-alive: timeout=1',
            'proxy-connection: close',
            'upgrade: h2c',
          ],
        }),
      );
      const r = await c.response();
      for (const name of ['connection', 'keep-alive', 'proxy-connection', 'upgrade']) {
        assert.equal(r.header(name), undefined, name);
      }
      c.write(get('/again'));
      assert.equal((await c.responses(2))[1]!.status, 200, 'the connection stayed open');
      c.destroy();
    } finally {
      await s.close();
    }
  });

  test('an upgrade request keeps its Connection and Upgrade headers', async () => {
    const s = await startServer({ hcm: { upgrade_configs: [{ upgrade_type: 'websocket' }] } });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/', { connection: 'keep-alive, Upgrade', upgrade: 'websocket' }));
      const [r] = await c.responses(1);
      assert.equal(r!.status, 101);
      assert.equal(r!.header('x-seen-connection'), 'keep-alive, Upgrade');
      assert.equal(r!.header('x-seen-upgrade'), 'websocket');
      c.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('host normalization', () => {
  test('strip_matching_host_port strips only the listener’s port', async () => {
    const s = await startServer({ hcm: { strip_matching_host_port: true } });
    try {
      const a = await fetchOnce(s.port, get('/', {}, `example.com:${s.port}`));
      assert.equal(echoHeader(a.echo, ':authority'), 'example.com');
      const b = await fetchOnce(s.port, get('/', {}, 'example.com:1'));
      assert.equal(echoHeader(b.echo, ':authority'), 'example.com:1');
    } finally {
      await s.close();
    }
  });

  test('strip_any_host_port strips any port, strip_trailing_host_dot the final dot', async () => {
    const s = await startServer({ hcm: { strip_any_host_port: true, strip_trailing_host_dot: true } });
    try {
      const a = await fetchOnce(s.port, get('/', {}, 'example.com.:8080'));
      assert.equal(echoHeader(a.echo, ':authority'), 'example.com');
      const b = await fetchOnce(s.port, get('/', {}, '[::1]:8080'));
      assert.equal(echoHeader(b.echo, ':authority'), '[::1]');
    } finally {
      await s.close();
    }
  });
});

describe('headers with underscores and header limits', () => {
  test('ALLOW forwards a header with an underscore', async () => {
    const s = await startServer();
    try {
      const { echo } = await fetchOnce(s.port, get('/', { x_under: '1' }));
      assert.equal(echoHeader(echo, 'x_under'), '1');
    } finally {
      await s.close();
    }
  });

  test('DROP_HEADER drops it and forwards the request', async () => {
    const s = await startServer({
      hcm: { common_http_protocol_options: { headers_with_underscores_action: 'DROP_HEADER' } },
    });
    try {
      const { echo, response } = await fetchOnce(s.port, get('/', { x_under: '1', 'x-fine': '2' }));
      assert.equal(response.status, 200);
      assert.equal(echoHeader(echo, 'x_under'), undefined);
      assert.equal(echoHeader(echo, 'x-fine'), '2');
    } finally {
      await s.close();
    }
  });

  test('REJECT_REQUEST answers 400 and closes the connection', async () => {
    const s = await startServer({
      hcm: { common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' } },
    });
    try {
      const c = await RawClient.connect(s.port);
      c.write(get('/', { x_under: '1' }));
      const r = await c.response();
      assert.equal(r.status, 400);
      await c.waitClosed();
      assert.match(s.logs[0] ?? '', / 400 DPE /);
    } finally {
      await s.close();
    }
  });

  test('max_request_headers_kb and max_headers_count reach the codec: 431 past them', async () => {
    const s = await startServer({
      hcm: { max_request_headers_kb: 1, common_http_protocol_options: { max_headers_count: 4 } },
    });
    try {
      const big = await fetchOnce(s.port, get('/', { 'x-big': 'b'.repeat(2000) }));
      assert.equal(big.response.status, 431);
      const many = await fetchOnce(s.port, get('/', { a: '1', b: '2', c: '3', d: '4', e: '5' }));
      assert.equal(many.response.status, 431);
      const fine = await fetchOnce(s.port, get('/', { a: '1' }));
      assert.equal(fine.response.status, 200);
    } finally {
      await s.close();
    }
  });
});

describe('x-forwarded-client-cert', () => {
  test('is removed without TLS unless forward_client_cert_details is ALWAYS_FORWARD_ONLY', async () => {
    const sanitize = await startServer();
    const always = await startServer({ hcm: { forward_client_cert_details: 'ALWAYS_FORWARD_ONLY' } });
    try {
      const a = await fetchOnce(sanitize.port, get('/', { 'x-forwarded-client-cert': 'By=x' }));
      assert.deepEqual(echoHeaders(a.echo, 'x-forwarded-client-cert'), []);
      const b = await fetchOnce(always.port, get('/', { 'x-forwarded-client-cert': 'By=x' }));
      assert.deepEqual(echoHeaders(b.echo, 'x-forwarded-client-cert'), ['By=x']);
    } finally {
      await sanitize.close();
      await always.close();
    }
  });
});
