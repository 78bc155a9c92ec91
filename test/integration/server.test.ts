/**
 * The server end to end: a real `legate` process, real client sockets on loopback.
 * Proves the workers share the listeners and keep their connections, drain on SIGTERM,
 * the guard dog catches a stuck worker, a dying worker fails the server, and the first
 * admin endpoints answer in Envoy's formats.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { echoConfig, eventually, freePort, type Legate, ROOT, startLegate, stat } from './harness.ts';

/** Sends `payload` on a new connection in `chunks` pieces `gapMs` apart, half-closes, and collects the echo. */
function echoOnce(port: number, payload: Buffer, chunks = 1, gapMs = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(received));
    });
    socket.on('error', reject);
    socket.setTimeout(30_000, () => socket.destroy(new Error('echo timed out')));
    socket.on('connect', async () => {
      const size = Math.ceil(payload.length / chunks);
      for (let offset = 0; offset < payload.length; offset += size) {
        socket.write(payload.subarray(offset, offset + size));
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      socket.end();
    });
  });
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
  });
}

async function withLegate(
  config: string,
  args: string[],
  env: Record<string, string>,
  body: (l: Legate) => Promise<void>,
) {
  const legate = await startLegate(config, args, env);
  try {
    await body(legate);
  } finally {
    await legate.stop();
  }
}

test('200 connections each echo 1 MiB intact across 2 workers, whose per-worker counters sum to 200', async () => {
  const port = await freePort();
  await withLegate(echoConfig(port), ['--concurrency', '2'], {}, async ({ admin }) => {
    const payloads = Array.from({ length: 200 }, () => randomBytes(1024 * 1024));
    const echoed = await Promise.all(payloads.map((p) => echoOnce(port, p, 8)));
    echoed.forEach((e, i) => {
      assert.ok(e.equals(payloads[i] ?? Buffer.alloc(0)), `connection ${i}: ${e.length} bytes back`);
    });
    const prefix = `listener.127.0.0.1_${port}`;
    assert.ok(await eventually(async () => (await stat(admin, `${prefix}.downstream_cx_active`)) === 0));
    const w0 = (await stat(admin, `${prefix}.worker_0.downstream_cx_total`)) ?? 0;
    const w1 = (await stat(admin, `${prefix}.worker_1.downstream_cx_total`)) ?? 0;
    assert.ok(w0 > 0 && w1 > 0, `both workers accepted connections (worker_0 ${w0}, worker_1 ${w1})`);
    assert.equal(w0 + w1, 200);
    assert.equal(await stat(admin, `${prefix}.downstream_cx_total`), 200);
    assert.equal(await stat(admin, `${prefix}.downstream_cx_destroy`), 200);
  });
});

test('SIGTERM drains: 50 transfers in flight complete, new connections are refused, exit 0 long before drain time', async () => {
  const port = await freePort();
  const legate = await startLegate(echoConfig(port), ['--concurrency', '2', '--drain-time-s', '60']);
  try {
    const payloads = Array.from({ length: 50 }, () => randomBytes(256 * 1024));
    const transfers = payloads.map((p) => echoOnce(port, p, 16, 60)); // about one second each
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    assert.ok(legate.proc.pid !== undefined);
    process.kill(legate.proc.pid, 'SIGTERM');
    assert.ok(
      await eventually(async () => (await connectError(port)) === 'ECONNREFUSED', 5000),
      'new connections refused',
    );
    const echoed = await Promise.all(transfers);
    echoed.forEach((e, i) => {
      assert.ok(e.equals(payloads[i] ?? Buffer.alloc(0)), `transfer ${i} complete`);
    });
    assert.equal(await legate.exited, 0);
    assert.ok(Date.now() - started < 60_000, 'exited before --drain-time-s ended');
    assert.match(legate.stderr(), /SIGTERM: draining listeners/);
  } finally {
    await legate.stop();
  }
});

test('a worker stalled for 1.5 s (test-only fault) counts a watchdog mega miss for that worker', async () => {
  const port = await freePort();
  await withLegate(
    echoConfig(port),
    ['--concurrency', '2'],
    { LEGATE_TEST_STALL_WORKER: '0:1500' },
    async ({ admin }) => {
      assert.ok(
        await eventually(async () => ((await stat(admin, 'server.watchdog_mega_miss')) ?? 0) >= 1, 10_000),
      );
      assert.ok(((await stat(admin, 'server.worker_0.watchdog_mega_miss')) ?? 0) >= 1);
      assert.ok(((await stat(admin, 'server.worker_0.watchdog_miss')) ?? 0) >= 1);
      assert.equal(await stat(admin, 'server.worker_1.watchdog_mega_miss'), 0);
    },
  );
});

test('with kill_timeout set, a stalled worker aborts the process with a line naming the thread', async () => {
  const port = await freePort();
  const config = echoConfig(port, 'watchdogs:\n  worker_watchdog: { kill_timeout: 1s }\n');
  const legate = await startLegate(config, ['--concurrency', '2'], { LEGATE_TEST_STALL_WORKER: '1:3000' });
  try {
    assert.equal(await legate.exited, 'SIGABRT');
    assert.match(legate.stderr(), /GuardDog: one thread \(worker_1\) has been blocked for \d+ ms/);
  } finally {
    await legate.stop();
  }
});

test('a worker that throws fails the whole server loudly with the cause (exit 1)', async () => {
  const port = await freePort();
  const legate = await startLegate(echoConfig(port), ['--concurrency', '2'], {
    LEGATE_TEST_CRASH_WORKER: '1',
  });
  try {
    assert.equal(await legate.exited, 1);
    assert.match(legate.stderr(), /worker_1 failed: Error: test-only fault LEGATE_TEST_CRASH_WORKER/);
  } finally {
    await legate.stop();
  }
});

test('without enable_dispatcher_stats (Envoy’s default) no thread records dispatcher stats', async () => {
  const port = await freePort();
  const legate = await startLegate(echoConfig(port), ['--concurrency', '1']);
  try {
    const text = await fetch(`${legate.admin}/stats?filter=dispatcher`).then((r) => r.text());
    assert.equal(text, '');
    const all = await fetch(`${legate.admin}/stats`).then((r) => r.text());
    assert.match(all, /^server\.live: 1$/m);
  } finally {
    await legate.stop();
  }
});

test('a listener port taken by another process fails start-up with the bind error (exit 1)', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const legate = await startLegate(echoConfig(port), ['--concurrency', '1'], {}, false);
    try {
      assert.equal(await legate.exited, 1);
      assert.match(legate.stderr(), /listener 'echo' failed to bind: .*EADDRINUSE/);
    } finally {
      await legate.stop();
    }
  } finally {
    blocker.close();
  }
});

test('--mode init_only initializes and exits 0 without serving', async () => {
  const port = await freePort();
  const legate = await startLegate(
    echoConfig(port),
    ['--mode', 'init_only', '--concurrency', '1'],
    {},
    false,
  );
  try {
    assert.equal(await legate.exited, 0);
    assert.match(legate.stderr(), /init_only: initialized, exiting/);
  } finally {
    await legate.stop();
  }
});

test('admin: /ready, /server_info, /stats (text, filter, json) in Envoy formats; /quitquitquit is POST only', async () => {
  const port = await freePort();
  const legate = await startLegate(
    echoConfig(port, 'node: { id: n1, cluster: c1 }\nenable_dispatcher_stats: true\n'),
    ['--concurrency', '1', '--service-zone', 'z1'],
  );
  try {
    const { admin } = legate;
    const ready = await fetch(`${admin}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'LIVE\n');

    const info = (await fetch(`${admin}/server_info`).then((r) => r.json())) as Record<string, unknown>;
    assert.equal(info['state'], 'LIVE');
    assert.match(String(info['version']), /^\d+\.\d+\.\d+/);
    assert.match(String(info['uptime_current_epoch']), /^\d+s$/);
    assert.match(String(info['uptime_all_epochs']), /^\d+s$/);
    assert.equal(typeof info['hot_restart_version'], 'string');
    const cli = info['command_line_options'] as Record<string, unknown>;
    assert.equal(cli['concurrency'], 1);
    assert.equal(cli['mode'], 'Serve');
    assert.deepEqual(info['node'], { id: 'n1', cluster: 'c1', locality: { zone: 'z1' } });

    const text = await fetch(`${admin}/stats`).then((r) => r.text());
    assert.match(text, /^server\.live: 1$/m);
    assert.match(text, /^server\.concurrency: 1$/m);
    assert.match(text, /^listener_manager\.workers_started: 1$/m);
    // enable_dispatcher_stats: every thread's loop duration and poll delay.
    assert.match(text, /^server\.main_thread\.dispatcher\.loop_duration_us: P0\(/m);
    for (const thread of ['main_thread', 'worker_0']) {
      for (const stat of ['loop_duration_us', 'poll_delay_us']) {
        assert.match(text, new RegExp(`^server\\.${thread}\\.dispatcher\\.${stat}: `, 'm'));
      }
    }
    const filtered = await fetch(`${admin}/stats?filter=^server\\.state$`).then((r) => r.text());
    assert.equal(filtered, 'server.state: 0\n');
    const asJson = (await fetch(`${admin}/stats?format=json&filter=listener_manager`).then((r) =>
      r.json(),
    )) as {
      stats: Array<{ name?: string; value?: number }>;
    };
    assert.ok(asJson.stats.some((s) => s.name === 'listener_manager.listener_added' && s.value === 1));

    const get = await fetch(`${admin}/quitquitquit`);
    assert.equal(get.status, 405);
    const missing = await fetch(`${admin}/no_such_endpoint`);
    assert.equal(missing.status, 404);
    const post = await fetch(`${admin}/quitquitquit`, { method: 'POST' });
    assert.equal(post.status, 200);
    assert.equal(await legate.exited, 0);
  } finally {
    await legate.stop();
  }
});

test('npm start: the bundled default config serves echo on 127.0.0.1:10000 with its admin on 9901', async () => {
  const config = fs.readFileSync(path.join(ROOT, 'configs/legate.yaml'), 'utf8');
  const legate = await startLegate(config, ['--concurrency', '1']);
  try {
    assert.equal(legate.admin, 'http://127.0.0.1:9901');
    const payload = randomBytes(4096);
    assert.ok((await echoOnce(10000, payload)).equals(payload));
    assert.ok(legate.proc.pid !== undefined);
    process.kill(legate.proc.pid, 'SIGTERM');
    assert.equal(await legate.exited, 0);
  } finally {
    await legate.stop();
  }
});
