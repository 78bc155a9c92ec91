/**
 * tcp_proxy end to end: a real legate process between real client sockets and real
 * upstream servers on loopback. Proves byte-exact transfer both ways, half-close, the load
 * balancers' choices, circuit breakers, connect failures and timeouts with their response
 * flags in the access log, and the cluster stats.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { eventually, freePort, type Legate, startLegate, stat } from './harness.ts';

interface Upstream {
  readonly port: number;
  readonly accepted: () => number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 running `onSocket` for each connection; counts accepts. */
async function upstream(onSocket: (s: net.Socket) => void): Promise<Upstream> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const echo = (s: net.Socket): void => {
  s.on('data', (d: Buffer) => s.write(d));
  s.on('end', () => s.end());
};

function endpoint(port: number, weight = 1): string {
  return `{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${port} } } }, load_balancing_weight: ${weight} }`;
}

/** A tcp_proxy listener on `port` to cluster `up` (with `clusterExtra` fields), admin on port 0. */
function tcpProxyConfig(port: number, endpoints: string[], clusterExtra = '', proxyExtra = ''): string {
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: tcp
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: tp
          cluster: up
${proxyExtra}
  clusters:
  - name: up
    connect_timeout: 1s
${clusterExtra}
    load_assignment:
      cluster_name: up
      endpoints:
      - lb_endpoints: [${endpoints.join(', ')}]
`;
}

/** An access log to `file` with the given format, as tcp_proxy fields. */
function accessLog(file: string, format: string): string {
  return `          access_log:
          - name: envoy.access_loggers.file
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
              path: ${file}
              log_format: { text_format_source: { inline_string: ${JSON.stringify(format)} } }`;
}

/** Connects, sends `payload`, half-closes, resolves with everything received until the peer's end/close. */
function exchange(port: number, payload: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    const done = (): void => {
      socket.destroy();
      resolve(Buffer.concat(received));
    };
    socket.on('end', done);
    socket.on('close', done);
    socket.on('error', done);
    socket.setTimeout(20_000, done);
    socket.on('connect', () => socket.end(payload));
  });
}

async function withProxy(config: string, args: string[], body: (l: Legate) => Promise<void>): Promise<void> {
  const legate = await startLegate(config, args);
  try {
    await body(legate);
  } finally {
    await legate.stop();
  }
}

test('1 GiB each way through tcp_proxy arrives byte-exact (sha256 equal in both directions)', async () => {
  const block = randomBytes(1024 * 1024);
  const blocks = 1024;
  const expected = createHash('sha256');
  for (let i = 0; i < blocks; i++) expected.update(block);
  const digest = expected.digest('hex');

  let upstreamDigest = '';
  const up = await upstream((s) => {
    const h = createHash('sha256');
    s.on('data', (d: Buffer) => h.update(d));
    s.on('end', () => {
      upstreamDigest = h.digest('hex');
    });
    let sent = 0;
    const pump = (): void => {
      while (sent < blocks) {
        sent++;
        if (!s.write(block)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  const port = await freePort();
  try {
    await withProxy(tcpProxyConfig(port, [endpoint(up.port)]), ['--concurrency', '2'], async ({ admin }) => {
      const downstreamDigest = await new Promise<string>((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
        const h = createHash('sha256');
        socket.on('data', (d: Buffer) => h.update(d));
        socket.on('end', () => resolve(h.digest('hex')));
        socket.on('error', reject);
        socket.on('connect', () => {
          let sent = 0;
          const pump = (): void => {
            while (sent < blocks) {
              sent++;
              if (!socket.write(block)) {
                socket.once('drain', pump);
                return;
              }
            }
            socket.end();
          };
          pump();
        });
      });
      assert.equal(downstreamDigest, digest, 'upstream -> downstream');
      assert.ok(await eventually(async () => upstreamDigest !== ''));
      assert.equal(upstreamDigest, digest, 'downstream -> upstream');
      const bytes = 1024 * 1024 * blocks;
      assert.equal(await stat(admin, 'tcp.tp.downstream_cx_rx_bytes_total'), bytes);
      assert.equal(await stat(admin, 'tcp.tp.downstream_cx_tx_bytes_total'), bytes);
      assert.equal(await stat(admin, 'cluster.up.upstream_cx_tx_bytes_total'), bytes);
      assert.equal(await stat(admin, 'cluster.up.upstream_cx_rx_bytes_total'), bytes);
    });
  } finally {
    await up.close();
  }
});

test('half-close passes through: the upstream sees the client FIN and can still answer', async () => {
  const up = await upstream((s) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    // Answers only after the client half-closed: proves the FIN arrived and the reverse path stayed open.
    s.on('end', () => s.end(Buffer.concat([Buffer.from('got: '), ...chunks])));
  });
  const port = await freePort();
  try {
    await withProxy(tcpProxyConfig(port, [endpoint(up.port)]), ['--concurrency', '1'], async () => {
      const reply = await exchange(port, Buffer.from('ping'));
      assert.equal(reply.toString(), 'got: ping');
    });
  } finally {
    await up.close();
  }
});

test('idle_timeout closes a silent connection (idle_timeout counted) and spares one that keeps talking', async () => {
  const up = await upstream(echo);
  const port = await freePort();
  const config = tcpProxyConfig(port, [endpoint(up.port)], '', '          idle_timeout: 0.5s');
  try {
    await withProxy(config, ['--concurrency', '1'], async (legate) => {
      const connect = (): Promise<net.Socket> =>
        new Promise((resolve, reject) => {
          const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
          s.on('error', reject);
        });
      const silent = await connect();
      const talker = await connect();
      const silentClosed = new Promise<void>((r) => silent.on('close', () => r()));
      let talkerClosed = false;
      talker.on('close', () => {
        talkerClosed = true;
      });
      let echoed = 0;
      talker.on('data', (d: Buffer) => {
        echoed += d.length;
      });
      // Three idle timeouts' worth of traffic, one byte every 100 ms.
      for (let i = 0; i < 15 && !talkerClosed; i++) {
        talker.write('x');
        await new Promise((r) => setTimeout(r, 100));
      }
      await silentClosed;
      assert.equal(talkerClosed, false, 'the talking connection was closed as idle');
      assert.ok(echoed >= 14, `echoed ${echoed} bytes`);
      assert.equal(await stat(legate.admin, 'tcp.tp.idle_timeout'), 1);
      // Once it falls silent it goes too.
      await new Promise<void>((r) => (talkerClosed ? r() : talker.on('close', () => r())));
      assert.ok(await eventually(async () => (await stat(legate.admin, 'tcp.tp.idle_timeout')) === 2));
    });
  } finally {
    await up.close();
  }
});

test('round robin with weights 1:2:3 sends exactly 100/200/300 of 600 connections on one worker', async () => {
  const ups = await Promise.all([1, 2, 3].map(() => upstream((s) => s.end())));
  const port = await freePort();
  try {
    const config = tcpProxyConfig(
      port,
      ups.map((u, i) => endpoint(u.port, i + 1)),
      '    lb_policy: ROUND_ROBIN',
    );
    await withProxy(config, ['--concurrency', '1'], async () => {
      for (let i = 0; i < 600; i += 50) await Promise.all(Array.from({ length: 50 }, () => exchange(port)));
      assert.deepEqual(
        ups.map((u) => u.accepted()),
        [100, 200, 300],
      );
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('least request steers new connections away from the host holding long connections', async () => {
  const holding = await upstream(() => {}); // keeps every connection open
  const quick = await upstream((s) => s.end());
  const port = await freePort();
  const held: net.Socket[] = [];
  try {
    const config = tcpProxyConfig(
      port,
      [endpoint(holding.port), endpoint(quick.port)],
      '    lb_policy: LEAST_REQUEST',
    );
    await withProxy(config, ['--concurrency', '1'], async () => {
      for (let i = 0; i < 40; i++) {
        const socket = net.connect({ host: '127.0.0.1', port });
        socket.on('error', () => {});
        held.push(socket);
        await new Promise<void>((resolve) => {
          socket.once('connect', () => resolve());
          socket.once('close', () => resolve());
        });
        // Let the proxy connect upstream before the next pick.
        await eventually(async () => holding.accepted() + quick.accepted() >= i + 1, 5000);
      }
      assert.equal(holding.accepted() + quick.accepted(), 40);
      assert.ok(holding.accepted() < 20, `the busy host got ${holding.accepted()} of 40`);
    });
  } finally {
    for (const s of held) s.destroy();
    await Promise.all([holding.close(), quick.close()]);
  }
});

test('ring hash on the source IP sends every connection from one address to one host', async () => {
  const ups = await Promise.all([0, 1, 2, 3].map(() => upstream((s) => s.end())));
  const port = await freePort();
  try {
    const config = tcpProxyConfig(
      port,
      ups.map((u) => endpoint(u.port)),
      '    lb_policy: RING_HASH',
      '          hash_policy: [{ source_ip: {} }]',
    );
    await withProxy(config, ['--concurrency', '2'], async () => {
      for (let i = 0; i < 50; i += 10) await Promise.all(Array.from({ length: 10 }, () => exchange(port)));
      const counts = ups.map((u) => u.accepted());
      assert.equal(counts.filter((c) => c > 0).length, 1, `one host took them all: ${counts.join('/')}`);
      assert.equal(Math.max(...counts), 50);
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('an upstream refusing connections: downstream closed, UF in the access log, upstream_cx_connect_fail', async () => {
  const deadPort = await freePort(); // nothing listens there
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(process.env['TMPDIR'] ?? '/tmp', 'legate-uf-'));
  const log = path.join(dir, 'access.log');
  try {
    const config = tcpProxyConfig(
      port,
      [endpoint(deadPort)],
      '',
      accessLog(log, '%RESPONSE_FLAGS% %UPSTREAM_HOST% %UPSTREAM_CLUSTER%\n'),
    );
    await withProxy(config, ['--concurrency', '1'], async ({ admin }) => {
      const reply = await exchange(port, Buffer.from('hello'));
      assert.equal(reply.length, 0);
      assert.ok(await eventually(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').length > 0));
      assert.equal(fs.readFileSync(log, 'utf8'), `UF 127.0.0.1:${deadPort} up\n`);
      assert.equal(await stat(admin, 'cluster.up.upstream_cx_connect_fail'), 1);
      const clusters = await fetch(`${admin}/clusters`).then((r) => r.text());
      assert.match(clusters, new RegExp(`^up::127\\.0\\.0\\.1:${deadPort}::cx_connect_fail::1$`, 'm'));
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('max_connections reached: the next connection is closed with UO and counted as upstream_cx_overflow', async () => {
  const up = await upstream(() => {}); // holds its connections
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(process.env['TMPDIR'] ?? '/tmp', 'legate-uo-'));
  const log = path.join(dir, 'access.log');
  const first = net.connect({ host: '127.0.0.1', port });
  first.on('error', () => {});
  try {
    const config = tcpProxyConfig(
      port,
      [endpoint(up.port)],
      '    circuit_breakers: { thresholds: [{ max_connections: 1, track_remaining: true }] }',
      accessLog(log, '%RESPONSE_FLAGS%\n'),
    );
    await withProxy(config, ['--concurrency', '2'], async ({ admin }) => {
      const held = net.connect({ host: '127.0.0.1', port });
      held.on('error', () => {});
      assert.ok(await eventually(async () => up.accepted() === 1));
      assert.equal(await stat(admin, 'cluster.up.circuit_breakers.default.cx_open'), 1);
      assert.equal(await stat(admin, 'cluster.up.circuit_breakers.default.remaining_cx'), 0);
      const reply = await exchange(port, Buffer.from('x'));
      assert.equal(reply.length, 0);
      assert.equal(up.accepted(), 1);
      assert.ok(await eventually(async () => (await stat(admin, 'cluster.up.upstream_cx_overflow')) === 1));
      assert.ok(
        await eventually(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('UO')),
      );
      // A reset (not a FIN: a half-closed connection stays open until the upstream closes too).
      held.resetAndDestroy();
      assert.ok(
        await eventually(
          async () => (await stat(admin, 'cluster.up.circuit_breakers.default.remaining_cx')) === 1,
        ),
      );
    });
  } finally {
    first.destroy();
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A listening socket that never accepts: a worker thread listens, then blocks its loop, so
 * the kernel's backlog fills and later SYNs go unanswered.
 */
async function blackhole(): Promise<{ port: number; close(): Promise<void>; fill: net.Socket[] }> {
  const worker = new Worker(
    `const net = require('node:net'); const { parentPort } = require('node:worker_threads');
     const s = net.createServer(); s.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
       parentPort.postMessage(s.address().port);
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
     });`,
    { eval: true },
  );
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  // Fill the backlog (a few handshakes the kernel completes on its own).
  const fill: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    fill.push(s);
  }
  await new Promise((r) => setTimeout(r, 300));
  return {
    port,
    fill,
    close: async () => {
      for (const s of fill) s.destroy();
      await worker.terminate();
    },
  };
}

test('connect timeout against a socket that never accepts counts upstream_cx_connect_timeout (and UF)', async () => {
  const hole = await blackhole();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(process.env['TMPDIR'] ?? '/tmp', 'legate-ct-'));
  const log = path.join(dir, 'access.log');
  try {
    const config = tcpProxyConfig(
      port,
      [endpoint(hole.port)],
      '',
      accessLog(log, '%RESPONSE_FLAGS% %UPSTREAM_TRANSPORT_FAILURE_REASON%\n'),
    ).replace('connect_timeout: 1s', 'connect_timeout: 0.5s');
    await withProxy(config, ['--concurrency', '1'], async ({ admin }) => {
      const reply = await exchange(port, Buffer.from('x'));
      assert.equal(reply.length, 0);
      assert.ok(
        await eventually(
          async () => ((await stat(admin, 'cluster.up.upstream_cx_connect_timeout')) ?? 0) >= 1,
        ),
      );
      assert.ok(await eventually(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').length > 0));
      // The formatter writes the reason with underscores for spaces, as Envoy does.
      assert.match(fs.readFileSync(log, 'utf8'), /^UF connect_timeout$/m);
    });
  } finally {
    await hole.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGUSR1 reopens the access log: after logrotate moves the file, new lines go to a new file', async () => {
  const up = await upstream(echo);
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(process.env['TMPDIR'] ?? '/tmp', 'legate-rot-'));
  const log = path.join(dir, 'access.log');
  try {
    const config = tcpProxyConfig(port, [endpoint(up.port)], '', accessLog(log, '%BYTES_RECEIVED%\n'));
    await withProxy(config, ['--concurrency', '2'], async (legate) => {
      await exchange(port, Buffer.from('12345'));
      assert.ok(await eventually(async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8') === '5\n'));
      fs.renameSync(log, `${log}.1`);
      assert.ok(legate.proc.pid !== undefined);
      process.kill(legate.proc.pid, 'SIGUSR1');
      assert.ok(await eventually(async () => fs.existsSync(log)), 'reopened at the original path');
      await exchange(port, Buffer.from('1234567'));
      assert.ok(await eventually(async () => fs.readFileSync(log, 'utf8') === '7\n'));
      assert.equal(fs.readFileSync(`${log}.1`, 'utf8'), '5\n');
    });
  } finally {
    await up.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('serve refuses what validates but has no data path yet (TLS upstream, tcp_proxy tunneling), naming the field', async () => {
  const port = await freePort();
  const tlsUpstream = tcpProxyConfig(
    port,
    [endpoint(1)],
    `    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config: { "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext }`,
  );
  const legate = await startLegate(tlsUpstream, ['--concurrency', '1'], {}, false);
  try {
    assert.equal(await legate.exited, 1);
    assert.match(
      legate.stderr(),
      /static_resources\.clusters\[0\]\.transport_socket: not supported by Legate yet: TLS to upstreams/,
    );
  } finally {
    await legate.stop();
  }
  const tunneling = tcpProxyConfig(
    port,
    [endpoint(1)],
    '',
    '          tunneling_config: { hostname: example.com }',
  );
  const refused = await startLegate(tunneling, ['--concurrency', '1'], {}, false);
  try {
    assert.equal(await refused.exited, 1);
    assert.match(
      refused.stderr(),
      /typed_config\.tunneling_config: not supported by Legate yet: tcp_proxy tunneling_config/,
    );
  } finally {
    await refused.stop();
  }
});
