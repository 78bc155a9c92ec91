/**
 * `/runtime` and `/runtime_modify` over real HTTP against a real legate process with two
 * workers: `/runtime` lists the layers (static, disk, admin) and every key's value per layer
 * in Envoy's JSON; `/runtime_modify` is POST only, sets and removes admin overrides, and the
 * workers obey them: `overload.global_downstream_max_connections` refuses a connection past
 * the cap (across both workers), and `upstream.healthy_panic_threshold` takes a cluster out
 * of panic so that connections go to its healthy host only. Real upstream servers, real
 * client sockets, bounded waits. Envoy counterpart: test/integration/integration_admin_test.cc
 * (Runtime), test/server/admin/runtime_handler_test.cc.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, type Legate, startLegate, stat } from '../integration/harness.ts';

const BOUND_MS = 5000;

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** An upstream that writes its name on every connection and keeps it open. */
async function namedServer(name: string): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.write(name);
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  return { server, port: (server.address() as net.AddressInfo).port };
}

const clients: net.Socket[] = [];

/**
 * Connects and resolves with the first bytes received (`echo` writes `ping` first), or
 * '' when the proxy closes the connection without a byte.
 */
function firstBytes(port: number, ping = false): Promise<{ socket: net.Socket; data: string }> {
  return within(
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port });
      clients.push(socket);
      socket.on('error', () => {});
      if (ping) socket.once('connect', () => socket.write('ping'));
      socket.once('data', (d: Buffer) => resolve({ socket, data: d.toString() }));
      socket.once('close', () => resolve({ socket, data: '' }));
    }),
    `a connection to port ${port}`,
  );
}

async function modify(
  admin: string,
  query: string,
  method = 'POST',
): Promise<{ status: number; body: string }> {
  const res = await fetch(`${admin}/runtime_modify?${query}`, { method });
  return { status: res.status, body: await res.text() };
}

interface RuntimeJson {
  layers: string[];
  entries: Record<string, { final_value: string; layer_values: string[] }>;
}

async function runtime(admin: string): Promise<RuntimeJson> {
  const res = await fetch(`${admin}/runtime`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  return (await res.json()) as RuntimeJson;
}

describe('admin /runtime and /runtime_modify', () => {
  let legate: Legate;
  let runtimeRoot: string;
  let echoPort: number;
  let proxyPort: number;
  const upstreams: net.Server[] = [];

  before(async () => {
    runtimeRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-runtime-it-'));
    fs.mkdirSync(path.join(runtimeRoot, 'v1/envoy/health_check'), { recursive: true });
    fs.writeFileSync(path.join(runtimeRoot, 'v1/envoy/health_check/min_interval'), '10\n');
    fs.writeFileSync(path.join(runtimeRoot, 'v1/envoy/from_disk'), 'disk\n');
    fs.symlinkSync(path.join(runtimeRoot, 'v1'), path.join(runtimeRoot, 'current'));
    const healthy = await namedServer('healthy');
    const sick1 = await namedServer('sick1');
    const sick2 = await namedServer('sick2');
    upstreams.push(healthy.server, sick1.server, sick2.server);
    echoPort = await freePort();
    proxyPort = await freePort();
    const endpoint = (port: number, health?: string): string =>
      `        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }${
        health === undefined ? '' : `\n          health_status: ${health}`
      }`;
    legate = await startLegate(
      `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
layered_runtime:
  layers:
  - name: static_layer_0
    static_layer:
      health_check: { min_interval: 5 }
      only_static: 1
  - name: disk_layer_0
    disk_layer: { symlink_root: ${path.join(runtimeRoot, 'current')}, subdirectory: envoy }
  - name: admin_layer_0
    admin_layer: {}
static_resources:
  listeners:
  - name: echo
    address: { socket_address: { address: 127.0.0.1, port_value: ${echoPort} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.echo
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
  - name: proxy
    address: { socket_address: { address: 127.0.0.1, port_value: ${proxyPort} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: proxy
          cluster: backends
  clusters:
  - name: backends
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: backends
      endpoints:
      - lb_endpoints:
${endpoint(healthy.port)}
${endpoint(sick1.port, 'UNHEALTHY')}
${endpoint(sick2.port, 'UNHEALTHY')}
`,
      ['--concurrency', '2'],
    );
  });

  after(async () => {
    for (const c of clients) c.destroy();
    await legate?.stop();
    for (const s of upstreams) s.close();
    fs.rmSync(runtimeRoot, { recursive: true, force: true });
  });

  test('/runtime lists the layers in order and each key per layer, the last one set winning', async () => {
    const r = await runtime(legate.admin);
    assert.deepEqual(r.layers, ['static_layer_0', 'disk_layer_0', 'admin_layer_0']);
    assert.deepEqual(r.entries['health_check.min_interval'], {
      final_value: '10',
      layer_values: ['5', '10', ''],
    });
    assert.deepEqual(r.entries['only_static'], { final_value: '1', layer_values: ['1', '', ''] });
    assert.deepEqual(r.entries['from_disk'], { final_value: 'disk', layer_values: ['', 'disk', ''] });
    assert.equal(await stat(legate.admin, 'runtime.num_layers'), 3);
    assert.equal(await stat(legate.admin, 'runtime.num_keys'), 3);
  });

  test('/runtime_modify is POST only and needs parameters', async () => {
    const get = await modify(legate.admin, 'a=1', 'GET');
    assert.equal(get.status, 405);
    const empty = await fetch(`${legate.admin}/runtime_modify`, { method: 'POST' });
    assert.equal(empty.status, 400);
    assert.match(await empty.text(), /usage: \/runtime_modify\?key1=value1/);
    assert.equal((await runtime(legate.admin)).entries['a'], undefined, 'the GET changed nothing');
  });

  test('an admin override shows in its layer and wins; an empty value removes it', async () => {
    assert.deepEqual(await modify(legate.admin, 'health_check.min_interval=20&new_key=x'), {
      status: 200,
      body: 'OK\n',
    });
    let r = await runtime(legate.admin);
    assert.deepEqual(r.entries['health_check.min_interval'], {
      final_value: '20',
      layer_values: ['5', '10', '20'],
    });
    assert.equal(r.entries['new_key']?.final_value, 'x');
    assert.equal(await stat(legate.admin, 'runtime.admin_overrides_active'), 1);
    await modify(legate.admin, 'health_check.min_interval=&new_key=');
    r = await runtime(legate.admin);
    assert.equal(r.entries['health_check.min_interval']?.final_value, '10');
    assert.equal(r.entries['new_key'], undefined);
    assert.equal(await stat(legate.admin, 'runtime.admin_overrides_active'), 0);
  });

  test('overload.global_downstream_max_connections=1: a second connection is refused, on either worker', async () => {
    assert.equal((await modify(legate.admin, 'overload.global_downstream_max_connections=1')).status, 200);
    const first = await firstBytes(echoPort, true);
    assert.equal(first.data, 'ping', 'the first connection is served');
    // Several tries: whichever worker the kernel hands them to, each is over the cap.
    for (let i = 0; i < 4; i++) assert.equal((await firstBytes(echoPort, true)).data, '', `try ${i} refused`);
    assert.equal(await stat(legate.admin, `listener.127.0.0.1_${echoPort}.downstream_global_cx_overflow`), 4);

    first.socket.destroy();
    await modify(legate.admin, 'overload.global_downstream_max_connections=');
    const again = await firstBytes(echoPort, true);
    assert.equal(again.data, 'ping', 'the limit removed: served again');
    again.socket.destroy();
  });

  test('upstream.healthy_panic_threshold=0 takes a 33%-healthy cluster out of panic: only its healthy host serves', async () => {
    // 1 of 3 hosts healthy, below the default 50%: in panic, connections go to every host.
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const c = await firstBytes(proxyPort);
      seen.add(c.data);
      c.socket.destroy();
    }
    assert.ok(
      seen.has('sick1') || seen.has('sick2'),
      `in panic, unhealthy hosts serve too (saw ${[...seen]})`,
    );
    const panicsBefore = await stat(legate.admin, 'cluster.backends.lb_healthy_panic');
    assert.ok((panicsBefore ?? 0) > 0);

    assert.equal((await modify(legate.admin, 'upstream.healthy_panic_threshold=0')).status, 200);
    for (let i = 0; i < 6; i++) {
      const c = await firstBytes(proxyPort);
      assert.equal(c.data, 'healthy', `connection ${i} went to the healthy host`);
      c.socket.destroy();
    }
    assert.equal(await stat(legate.admin, 'cluster.backends.lb_healthy_panic'), panicsBefore);
    await modify(legate.admin, 'upstream.healthy_panic_threshold=');
  });

  test('a swap of the disk layer symlink reloads it in the running server', async () => {
    fs.mkdirSync(path.join(runtimeRoot, 'v2/envoy'), { recursive: true });
    fs.writeFileSync(path.join(runtimeRoot, 'v2/envoy/from_disk'), 'disk v2\n');
    fs.symlinkSync(path.join(runtimeRoot, 'v2'), path.join(runtimeRoot, 'current.new'));
    fs.renameSync(path.join(runtimeRoot, 'current.new'), path.join(runtimeRoot, 'current'));
    const deadline = Date.now() + BOUND_MS;
    let r = await runtime(legate.admin);
    while (r.entries['from_disk']?.final_value !== 'disk v2' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      r = await runtime(legate.admin);
    }
    assert.deepEqual(r.entries['from_disk'], { final_value: 'disk v2', layer_values: ['', 'disk v2', ''] });
    assert.deepEqual(r.entries['health_check.min_interval']?.layer_values, ['5', '', '']);
  });
});
