/**
 * Envoy's front-proxy example (`../shared/envoy-examples/front-proxy/envoy.yaml`) run by a real
 * `legate` process, with only what must change rewritten in memory (the file is read, never
 * copied): the listener and admin addresses (free loopback ports), the TLS listener on 8443
 * removed (downstream TLS is not built yet), the clusters' port, and a DNS resolver of the
 * test's own (dns2 on 127.0.0.1, through `typed_dns_resolver_config`) so the STRICT_DNS names
 * `service-envoy-1` and `service-envoy-2` resolve to loopback servers: two replicas of service 1
 * (127.0.0.1 and 127.0.0.2) and one of service 2 (127.0.0.3), on one port as in the example.
 * Proves `/service/1` and `/service/2` reach the right backends, round robin across the two
 * replicas, and the admin answers. Skips when the examples are absent.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import dns2 from 'dns2';
import YAML from 'yaml';
import { freePort, type Legate, ROOT, startLegate, stat } from './harness.ts';

const EXAMPLE = path.resolve(ROOT, '../shared/envoy-examples/front-proxy/envoy.yaml');
const SKIP = fs.existsSync(EXAMPLE) ? false : `the Envoy examples are not at ${EXAMPLE}`;

const { Packet } = dns2;
type DnsRequest = InstanceType<typeof Packet>;

/** What the example's DNS names resolve to here. */
const ANSWERS: Record<string, readonly string[]> = {
  'service-envoy-1': ['127.0.0.1', '127.0.0.2'],
  'service-envoy-2': ['127.0.0.3'],
};

/** A UDP name server: A records from ANSWERS, an empty answer for other types (AAAA). */
async function nameServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server = dns2.createUDPServer((req: DnsRequest, send: (res: DnsRequest) => Promise<Buffer>) => {
    const q = req.questions[0];
    if (q === undefined) return;
    const res = Packet.createResponseFromRequest(req);
    const answer = ANSWERS[q.name.toLowerCase()];
    if (answer === undefined) res.header.rcode = Packet.RCODE.NXDOMAIN;
    else if (q.type === Packet.TYPE.A) {
      for (const address of answer)
        res.answers.push(Packet.createResourceFromQuestion(q, { ttl: 60, address }));
    }
    void send(res).catch(() => {});
  });
  await server.listen(0, '127.0.0.1');
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A backend that answers `<name> <url>`. */
function backend(name: string, host: string, port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(`${name} ${req.url}`));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server));
  });
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** The three backends on one port (retried until all three addresses bind it). */
async function backends(): Promise<{ port: number; servers: http.Server[] }> {
  for (let attempt = 0; ; attempt++) {
    const first = await backend('service1-a', '127.0.0.1', 0);
    const port = (first.address() as net.AddressInfo).port;
    try {
      const second = await backend('service1-b', '127.0.0.2', port);
      const third = await backend('service2', '127.0.0.3', port).catch(async (err: unknown) => {
        await closeServer(second);
        throw err;
      });
      return { port, servers: [first, second, third] };
    } catch (err) {
      await closeServer(first);
      if (attempt >= 10) throw err;
    }
  }
}

interface SocketAddress {
  address: string;
  port_value: number;
}
interface Example {
  admin: { address: { socket_address: SocketAddress } };
  static_resources: {
    listeners: Array<{
      address: { socket_address: SocketAddress };
      filter_chains: Array<Record<string, unknown>>;
    }>;
    clusters: Array<{
      name: string;
      type: string;
      typed_dns_resolver_config?: unknown;
      load_assignment: {
        endpoints: Array<{
          lb_endpoints: Array<{ endpoint: { address: { socket_address: SocketAddress } } }>;
        }>;
      };
    }>;
  };
}

/** The example with only what must change rewritten. */
function rewrite(listenerPort: number, backendPort: number, dnsPort: number): string {
  const config = YAML.parse(fs.readFileSync(EXAMPLE, 'utf8')) as Example;
  config.admin.address.socket_address = { address: '127.0.0.1', port_value: 0 };
  const resources = config.static_resources;
  // Downstream TLS is not built yet: the 8443 listener (DownstreamTlsContext) is left out.
  resources.listeners = resources.listeners.filter((l) => l.address.socket_address.port_value !== 8443);
  assert.equal(resources.listeners.length, 1, 'the example has one plaintext listener');
  resources.listeners[0]!.address.socket_address = { address: '127.0.0.1', port_value: listenerPort };
  for (const cluster of resources.clusters) {
    assert.equal(cluster.type, 'STRICT_DNS');
    cluster.typed_dns_resolver_config = {
      name: 'envoy.network.dns_resolver.cares',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig',
        resolvers: [{ socket_address: { address: '127.0.0.1', port_value: dnsPort } }],
      },
    };
    for (const locality of cluster.load_assignment.endpoints) {
      for (const lb of locality.lb_endpoints) lb.endpoint.address.socket_address.port_value = backendPort;
    }
  }
  return YAML.stringify(config);
}

let legate: Legate;
let port = 0;
let dns: Awaited<ReturnType<typeof nameServer>>;
let servers: http.Server[] = [];

before(async () => {
  if (SKIP !== false) return;
  dns = await nameServer();
  const b = await backends();
  servers = b.servers;
  port = await freePort();
  legate = await startLegate(rewrite(port, b.port, dns.port), ['--concurrency', '1']);
});

after(async () => {
  await legate?.stop();
  await Promise.all(servers.map(closeServer));
  await dns?.close();
});

function get(p: string, agent: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: p, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
  });
}

test('front-proxy: /service/1 and /service/2 reach their backends, round robin across replicas', {
  skip: SKIP,
}, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const service1: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await get(`/service/1?i=${i}`, agent);
      assert.equal(r.status, 200);
      const [name, url] = r.body.split(' ');
      assert.equal(url, `/service/1?i=${i}`);
      service1.push(name!);
    }
    // Round robin: the two replicas take turns.
    for (let i = 1; i < service1.length; i++) assert.notEqual(service1[i], service1[i - 1], service1.join());
    assert.deepEqual(new Set(service1), new Set(['service1-a', 'service1-b']));
    for (let i = 0; i < 3; i++) {
      const r = await get('/service/2/x', agent);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'service2 /service/2/x');
    }
    assert.equal((await get('/elsewhere', agent)).status, 404);
  } finally {
    agent.destroy();
  }
  assert.equal(await stat(legate.admin, 'cluster.service1-envoy.upstream_rq_200'), 6);
  assert.equal(await stat(legate.admin, 'cluster.service2-envoy.upstream_rq_200'), 3);
  assert.equal(await stat(legate.admin, 'http.ingress_http.downstream_rq_2xx'), 9);
});

test('front-proxy: the admin answers /ready and lists the resolved hosts in /clusters', {
  skip: SKIP,
}, async () => {
  assert.equal((await (await fetch(`${legate.admin}/ready`)).text()).trim(), 'LIVE');
  const clusters = await (await fetch(`${legate.admin}/clusters`)).text();
  const hosts = (name: string): string[] =>
    [...clusters.matchAll(new RegExp(`^${name}::([0-9.]+):\\d+::cx_total::`, 'gm'))].map((m) => m[1]!).sort();
  assert.deepEqual(hosts('service1-envoy'), ['127.0.0.1', '127.0.0.2']);
  assert.deepEqual(hosts('service2-envoy'), ['127.0.0.3']);
});
