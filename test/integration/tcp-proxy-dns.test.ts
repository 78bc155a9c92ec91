/**
 * tcp_proxy to DNS clusters end to end: a real `legate` process (`--concurrency 2`) whose
 * STRICT_DNS and LOGICAL_DNS clusters ask a DNS server the test runs on 127.0.0.1 (dns2,
 * through `typed_dns_resolver_config`), in front of two upstreams on different loopback
 * addresses (127.0.0.2 and 127.0.0.3) with the same port, so that switching an A record
 * switches the upstream. Proves start-up waits for the first answer, new connections follow
 * a changed answer, a failed lookup keeps the last hosts, LOGICAL_DNS keeps connections
 * opened before a change, and `respect_dns_ttl` re-resolves on the TTL. Waits are bounded
 * polls ("eventually"), never timing asserts. Envoy counterpart:
 * test/integration/tcp_proxy_integration_test.cc, over DNS clusters.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import dns2 from 'dns2';
import { eventually, freePort, type Legate, startLegate, stat } from './harness.ts';

const { Packet } = dns2;
const ADDRESS_B = '127.0.0.2';
const ADDRESS_C = '127.0.0.3';

type DnsRequest = InstanceType<typeof Packet>;
type DnsSend = (res: DnsRequest) => Promise<Buffer>;
type NameBehaviour =
  | { readonly kind: 'answer'; readonly a: readonly string[]; readonly ttl: number }
  | { readonly kind: 'servfail' }
  | { readonly kind: 'silent' };

/**
 * The name server the cluster asks: UDP only on 127.0.0.1 (c-ares asks over UDP), so start-up
 * binds one port and cannot collide. Unlike test/upstream/discovery's `TestDnsServer` it can
 * answer late: while silent it keeps the queries, and `answer` replies to them too.
 */
class DelayingDnsServer {
  private readonly server = dns2.createUDPServer((req, send) => this.handle(req, send));
  private readonly names = new Map<string, NameBehaviour>();
  private readonly held = new Map<string, Array<() => void>>();
  private readonly queries = new Map<string, number>();
  port = 0;

  async start(): Promise<void> {
    await this.server.listen(0, '127.0.0.1');
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** `name` answers these A records with `ttl` seconds; queries held so far get this answer now. */
  answer(name: string, a: readonly string[], ttl = 60): void {
    this.names.set(name, { kind: 'answer', a, ttl });
    const waiting = this.held.get(name) ?? [];
    this.held.delete(name);
    for (const reply of waiting) reply();
  }

  /** `name` gets SERVFAIL. */
  servfail(name: string): void {
    this.names.set(name, { kind: 'servfail' });
  }

  /** Queries for `name` get no reply until the next `answer`. */
  silence(name: string): void {
    this.names.set(name, { kind: 'silent' });
  }

  /** A queries received for `name`, answered or not. */
  count(name: string): number {
    return this.queries.get(name) ?? 0;
  }

  close(): Promise<void> {
    this.held.clear();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: DnsRequest, send: DnsSend): void {
    const q = req.questions[0];
    if (q === undefined || q.type !== Packet.TYPE.A) return;
    const name = q.name.toLowerCase();
    this.queries.set(name, this.count(name) + 1);
    const reply = (): void => {
      const b = this.names.get(name);
      const res = Packet.createResponseFromRequest(req);
      if (b === undefined) res.header.rcode = Packet.RCODE.NXDOMAIN;
      else if (b.kind === 'servfail') res.header.rcode = Packet.RCODE.SERVFAIL;
      else if (b.kind === 'answer') {
        for (const address of b.a)
          res.answers.push(Packet.createResourceFromQuestion(q, { ttl: b.ttl, address }));
      }
      void send(res).catch(() => {});
    };
    if (this.names.get(name)?.kind !== 'silent') {
      reply();
      return;
    }
    const waiting = this.held.get(name) ?? [];
    waiting.push(reply);
    this.held.set(name, waiting);
  }
}

/** An upstream that sends its name and a newline on connect, then echoes what it reads. */
interface NamedUpstream {
  readonly name: string;
  readonly server: net.Server;
  readonly sockets: Set<net.Socket>;
}

function listen(name: string, host: string, port: number): Promise<NamedUpstream> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write(`${name}\n`);
    socket.pipe(socket);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve({ name, server, sockets }));
  });
}

function closeUpstream(u: NamedUpstream): Promise<void> {
  for (const s of u.sockets) s.destroy();
  return new Promise((resolve) => u.server.close(() => resolve()));
}

/** Upstreams named B on 127.0.0.2 and C on 127.0.0.3, both on one port (tried until both bind). */
async function startUpstreams(): Promise<{ port: number; b: NamedUpstream; c: NamedUpstream }> {
  for (let attempt = 0; ; attempt++) {
    const b = await listen('B', ADDRESS_B, 0);
    const port = (b.server.address() as net.AddressInfo).port;
    try {
      const c = await listen('C', ADDRESS_C, port);
      return { port, b, c };
    } catch (err) {
      await closeUpstream(b);
      if (attempt >= 10) throw err;
    }
  }
}

const dns = new DelayingDnsServer();
let upstreamPort: number;
let upstreamB: NamedUpstream;
let upstreamC: NamedUpstream;

before(async () => {
  await dns.start();
  const u = await startUpstreams();
  upstreamPort = u.port;
  upstreamB = u.b;
  upstreamC = u.c;
});

after(async () => {
  await Promise.all([dns.close(), closeUpstream(upstreamB), closeUpstream(upstreamC)]);
});

/** A tcp_proxy listener on `listenerPort` to one DNS cluster `svc` over `hostname`; admin on port 0. */
function dnsProxyConfig(
  listenerPort: number,
  hostname: string,
  cluster: { type: 'STRICT_DNS' | 'LOGICAL_DNS'; refreshRate: string; respectDnsTtl?: boolean },
): string {
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: proxy
    address: { socket_address: { address: 127.0.0.1, port_value: ${listenerPort} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: dns_proxy
          cluster: svc
  clusters:
  - name: svc
    type: ${cluster.type}
    connect_timeout: 1s
    dns_lookup_family: V4_ONLY
    dns_refresh_rate: ${cluster.refreshRate}
    respect_dns_ttl: ${cluster.respectDnsTtl ?? false}
    typed_dns_resolver_config:
      name: envoy.network.dns_resolver.cares
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
        resolvers: [{ socket_address: { address: 127.0.0.1, port_value: ${dns.port} } }]
    load_assignment:
      cluster_name: svc
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: ${hostname}, port_value: ${upstreamPort} } } }
`;
}

/** A connection through the proxy that has read the upstream's name line. */
interface ProxiedConnection {
  readonly upstream: string;
  readonly socket: net.Socket;
  /** Writes `text` and resolves with the `text.length` bytes echoed back. */
  echo(text: string): Promise<string>;
}

function connectThrough(port: number): Promise<ProxiedConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setEncoding('utf8');
    socket.setTimeout(5000, () => socket.destroy(new Error('no name line within 5 s')));
    let buffered = '';
    let waiter: { length: number; resolve: (s: string) => void } | undefined;
    let upstream: string | undefined;
    const pump = (): void => {
      if (upstream === undefined) {
        const nl = buffered.indexOf('\n');
        if (nl < 0) return;
        upstream = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        socket.setTimeout(0);
        resolve({
          upstream,
          socket,
          echo: (text) =>
            new Promise<string>((done, fail) => {
              const timer = setTimeout(() => fail(new Error(`no echo of '${text}' within 5 s`)), 5000);
              socket.once('close', () => fail(new Error(`closed before the echo of '${text}'`)));
              waiter = {
                length: text.length,
                resolve: (echoed) => {
                  clearTimeout(timer);
                  done(echoed);
                },
              };
              socket.write(text);
              pump();
            }),
        });
      }
      if (waiter !== undefined && buffered.length >= waiter.length) {
        const w = waiter;
        waiter = undefined;
        const out = buffered.slice(0, w.length);
        buffered = buffered.slice(w.length);
        w.resolve(out);
      }
    };
    socket.on('data', (d: string) => {
      buffered += d;
      pump();
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before the name line (got '${buffered}')`)));
  });
}

/** The name of the upstream a new connection through `port` reaches ('' when it fails). */
async function upstreamOf(port: number): Promise<string> {
  try {
    const c = await connectThrough(port);
    c.socket.destroy();
    return c.upstream;
  } catch {
    return '';
  }
}

/** True when `n` new connections in a row all reach `name` (across both workers). */
async function allReach(port: number, name: string, n = 6): Promise<boolean> {
  for (let i = 0; i < n; i++) if ((await upstreamOf(port)) !== name) return false;
  return true;
}

function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/** The host keys (`address:port`) `/clusters` lists for cluster `svc`. */
async function clusterHosts(admin: string): Promise<string[]> {
  const body = await fetch(`${admin}/clusters`).then((r) => r.text());
  const hosts = new Set<string>();
  for (const m of body.matchAll(/^svc::([^:]+:\d+)::cx_total::/gm)) hosts.add(m[1] ?? '');
  return [...hosts];
}

async function withLegate(config: string, body: (l: Legate) => Promise<void>): Promise<void> {
  const legate = await startLegate(config, ['--concurrency', '2']);
  try {
    await body(legate);
  } finally {
    await legate.stop();
  }
}

test('start-up waits for the first DNS answer: /ready is 503 and the listener refuses until the name server answers, then LIVE and traffic reaches the answered host', async () => {
  const port = await freePort();
  dns.silence('held.test'); // the queries wait for the answer below
  const legate = await startLegate(
    dnsProxyConfig(port, 'held.test', { type: 'STRICT_DNS', refreshRate: '0.2s' }),
    ['--concurrency', '2'],
    {},
    false,
  );
  try {
    const addressPath = path.join(legate.dir, 'admin.address');
    assert.ok(
      await eventually(async () => fs.existsSync(addressPath) && dns.count('held.test') > 0),
      'the admin is up and the cluster has asked for held.test',
    );
    const admin = `http://${fs.readFileSync(addressPath, 'utf8').trim()}`;
    for (let i = 0; i < 5; i++) {
      const ready = await fetch(`${admin}/ready`);
      const state = (await ready.text()).trim();
      assert.equal(ready.status, 503, `/ready while the answer is held: ${state}`);
      assert.notEqual(state, 'LIVE');
      assert.equal(await connectOutcome(port), 'ECONNREFUSED', 'the listener is not bound yet');
      await sleep(100);
    }

    dns.answer('held.test', [ADDRESS_B]);
    assert.ok(
      await eventually(async () => {
        const r = await fetch(`${admin}/ready`).then(
          (x) => x.text(),
          () => '',
        );
        return r.trim() === 'LIVE';
      }, 15_000),
      `LIVE once the name server answers:\n${legate.stderr()}`,
    );
    assert.equal(await upstreamOf(port), 'B');
    assert.deepEqual(await clusterHosts(admin), [`${ADDRESS_B}:${upstreamPort}`]);
  } finally {
    await legate.stop();
  }
});

test('STRICT_DNS: new connections follow a changed A record within the refresh rate, and /clusters shows the new host', async () => {
  const port = await freePort();
  dns.answer('moving.test', [ADDRESS_B]);
  const config = dnsProxyConfig(port, 'moving.test', { type: 'STRICT_DNS', refreshRate: '0.2s' });
  await withLegate(config, async ({ admin }) => {
    assert.ok(await allReach(port, 'B'), 'every connection reaches B (127.0.0.2)');
    const held = await connectThrough(port);
    assert.equal(held.upstream, 'B');

    dns.answer('moving.test', [ADDRESS_C]);
    assert.ok(await eventually(() => allReach(port, 'C')), 'new connections reach C (127.0.0.3)');
    assert.ok(
      await eventually(async () => {
        const hosts = await clusterHosts(admin);
        return hosts.length === 1 && hosts[0] === `${ADDRESS_C}:${upstreamPort}`;
      }),
      '/clusters lists only 127.0.0.3',
    );
    assert.equal(await held.echo('still here'), 'still here', 'a connection to the removed host carries on');
    held.socket.destroy();
    assert.ok(((await stat(admin, 'cluster.svc.upstream_cx_total')) ?? 0) >= 13);
  });
});

test('STRICT_DNS: a failed lookup (SERVFAIL, then a silent name server) keeps the last hosts and traffic keeps flowing', async () => {
  const port = await freePort();
  dns.answer('flaky.test', [ADDRESS_C]);
  const config = dnsProxyConfig(port, 'flaky.test', { type: 'STRICT_DNS', refreshRate: '0.2s' });
  await withLegate(config, async ({ admin }) => {
    const host = `${ADDRESS_C}:${upstreamPort}`;
    assert.ok(await allReach(port, 'C'));

    dns.servfail('flaky.test');
    const before = dns.count('flaky.test');
    assert.ok(
      await eventually(async () => dns.count('flaky.test') >= before + 3),
      'several refreshes got SERVFAIL',
    );
    assert.ok(await allReach(port, 'C'), 'traffic still reaches the last host after SERVFAILs');
    assert.deepEqual(await clusterHosts(admin), [host]);

    dns.silence('flaky.test');
    const silentFrom = dns.count('flaky.test');
    assert.ok(await eventually(async () => dns.count('flaky.test') > silentFrom), 'a query went unanswered');
    await sleep(1000);
    assert.ok(
      await allReach(port, 'C'),
      'traffic still reaches the last host while the name server is silent',
    );
    assert.deepEqual(await clusterHosts(admin), [host]);
  });
});

test('LOGICAL_DNS: new connections go to the first address of the latest answer; a connection opened before the change keeps working', async () => {
  const port = await freePort();
  dns.answer('logical.test', [ADDRESS_B, ADDRESS_C]);
  const config = dnsProxyConfig(port, 'logical.test', { type: 'LOGICAL_DNS', refreshRate: '0.2s' });
  await withLegate(config, async ({ admin }) => {
    assert.ok(await allReach(port, 'B'), 'every connection reaches the first address, 127.0.0.2');
    const before = await connectThrough(port);
    assert.equal(before.upstream, 'B');
    assert.equal(await before.echo('one'), 'one');

    dns.answer('logical.test', [ADDRESS_C, ADDRESS_B]);
    assert.ok(await eventually(() => allReach(port, 'C')), 'new connections reach the new first address');
    assert.equal(await before.echo('two'), 'two', 'the earlier connection still reaches B');
    before.socket.destroy();
    assert.deepEqual(await clusterHosts(admin), [`${ADDRESS_C}:${upstreamPort}`]);
  });
});

test('respect_dns_ttl: with a 60 s dns_refresh_rate and TTL 1, a changed answer is picked up within seconds', async () => {
  const port = await freePort();
  dns.answer('ttl.test', [ADDRESS_B], 1);
  const config = dnsProxyConfig(port, 'ttl.test', {
    type: 'STRICT_DNS',
    refreshRate: '60s',
    respectDnsTtl: true,
  });
  await withLegate(config, async ({ admin }) => {
    assert.ok(await allReach(port, 'B'));
    dns.answer('ttl.test', [ADDRESS_C], 1);
    assert.ok(await eventually(() => allReach(port, 'C'), 5000), 'new connections reach C within 5 s');
    assert.deepEqual(await clusterHosts(admin), [`${ADDRESS_C}:${upstreamPort}`]);
  });
});
