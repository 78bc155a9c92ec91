/**
 * Admin `/cpuprofiler` and `/heapprofiler` on a real legate under HTTP load: Envoy's
 * answers and status codes, and the profile files each thread writes beside
 * `admin.profile_path` (main thread and every worker).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, httpProxyConfig, type Legate, startLegate } from '../integration/harness.ts';

const THREADS = ['main_thread', 'worker_0', 'worker_1'];

function config(profilePath: string, port: number, upstreamPort: number): string {
  return httpProxyConfig(port, upstreamPort, { admin: `  profile_path: ${profilePath}` });
}

let dir: string;
let upstream: http.Server;
let legate: Legate;
let port: number;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-profiles-'));
  upstream = http.createServer((_req, res) => res.end('x'.repeat(512)));
  await new Promise<void>((r) => upstream.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  port = await freePort();
  const upstreamPort = (upstream.address() as net.AddressInfo).port;
  legate = await startLegate(config(path.join(dir, 'envoy.prof'), port, upstreamPort), [
    '--concurrency',
    '2',
  ]);
});

after(async () => {
  await legate?.stop();
  upstream?.closeAllConnections();
  await new Promise((r) => upstream?.close(r));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function admin(method: string, pathAndQuery: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${legate.admin}${pathAndQuery}`, { method });
  return { status: res.status, body: await res.text() };
}

/** `count` requests through the proxy over four keep-alive connections. */
async function load(count: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let left = count;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (left-- > 0) await one();
    }),
  );
  agent.destroy();
}

function profileFiles(extension: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(`.${extension}`))
    .sort();
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  startTime: number;
  endTime: number;
}

test('cpuprofiler: POST only, ?enable=<y|n> or 400, like Envoy', async () => {
  assert.equal((await admin('GET', '/cpuprofiler?enable=y')).status, 405);
  for (const query of ['', '?enable=yes', '?enable=y&x=1', '?Enable=y']) {
    assert.deepEqual(await admin('POST', `/cpuprofiler${query}`), { status: 400, body: '?enable=<y|n>\n' });
  }
  // Stopping a profiler that is not running is a no-op.
  assert.deepEqual(await admin('POST', '/cpuprofiler?enable=n'), { status: 200, body: 'OK\n' });
  assert.deepEqual(profileFiles('cpuprofile'), []);
});

test('cpuprofiler: profiles the main thread and every worker while traffic runs, one .cpuprofile each', async () => {
  assert.deepEqual(await admin('POST', '/cpuprofiler?enable=y'), { status: 200, body: 'OK\n' });
  // Starting again while running is a no-op too.
  assert.deepEqual(await admin('POST', '/cpuprofiler?enable=y'), { status: 200, body: 'OK\n' });
  await load(1500);
  assert.deepEqual(await admin('POST', '/cpuprofiler?enable=n'), { status: 200, body: 'OK\n' });

  assert.deepEqual(
    profileFiles('cpuprofile'),
    THREADS.map((t) => `envoy.prof.${t}.cpuprofile`),
  );
  const dataPath = new Set<string>();
  for (const thread of THREADS) {
    const profile = JSON.parse(
      fs.readFileSync(path.join(dir, `envoy.prof.${thread}.cpuprofile`), 'utf8'),
    ) as CpuProfile;
    assert.ok(profile.nodes.length > 1, `${thread}: ${profile.nodes.length} nodes`);
    assert.ok(profile.samples.length > 0, `${thread}: no sample`);
    assert.ok(profile.endTime > profile.startTime);
    for (const node of profile.nodes) {
      if (node.callFrame.url.includes('/src/http/')) dataPath.add(thread);
    }
  }
  // The HTTP data path runs on the workers, and their own profiles show it.
  assert.ok(
    [...dataPath].some((t) => t.startsWith('worker_')),
    `threads whose profile shows src/http/: ${[...dataPath]}`,
  );
});

test('heapprofiler: start, refuse a second start, stop with a .heapprofile and a .heapsnapshot per thread', async () => {
  assert.equal((await admin('GET', '/heapprofiler?enable=y')).status, 405);
  assert.deepEqual(await admin('POST', '/heapprofiler?enable=maybe'), {
    status: 400,
    body: '?enable=<y|n>\n',
  });
  assert.deepEqual(await admin('POST', '/heapprofiler?enable=n'), {
    status: 400,
    body: 'Fail to stop heap profiler: not started\n',
  });
  assert.deepEqual(await admin('POST', '/heapprofiler?enable=y'), {
    status: 200,
    body: 'Starting heap profiler\n',
  });
  assert.deepEqual(await admin('POST', '/heapprofiler?enable=y'), {
    status: 400,
    body: 'Fail to start heap profiler: already started\n',
  });
  await load(300);
  assert.deepEqual(await admin('POST', '/heapprofiler?enable=n'), {
    status: 200,
    body: 'Stopping heap profiler\n',
  });

  assert.deepEqual(
    profileFiles('heapprofile'),
    THREADS.map((t) => `envoy.prof.${t}.heapprofile`),
  );
  assert.deepEqual(
    profileFiles('heapsnapshot'),
    THREADS.map((t) => `envoy.prof.${t}.heapsnapshot`),
  );
  let workersWithAllocations = 0;
  for (const thread of THREADS) {
    const profile = JSON.parse(
      fs.readFileSync(path.join(dir, `envoy.prof.${thread}.heapprofile`), 'utf8'),
    ) as {
      head: { callFrame: { functionName: string }; children: unknown[] };
    };
    assert.equal(profile.head.callFrame.functionName, '(root)', thread);
    // The kernel spreads the 4 load connections over the workers by hash, possibly all onto
    // one: the workers that ran the data path allocated (checked after the loop).
    if (thread !== 'main_thread' && profile.head.children.length > 0) workersWithAllocations++;
    const snapshot = JSON.parse(
      fs.readFileSync(path.join(dir, `envoy.prof.${thread}.heapsnapshot`), 'utf8'),
    ) as {
      snapshot: { meta: { node_fields: string[] }; node_count: number };
      nodes: number[];
    };
    assert.ok(snapshot.snapshot.node_count > 1000, `${thread}: ${snapshot.snapshot.node_count} heap nodes`);
    assert.equal(
      snapshot.nodes.length,
      snapshot.snapshot.node_count * snapshot.snapshot.meta.node_fields.length,
    );
  }
  assert.ok(workersWithAllocations >= 1, 'no worker recorded an allocation while serving the load');
  // The profiler can run again after a stop.
  assert.equal((await admin('POST', '/heapprofiler?enable=y')).status, 200);
  assert.equal((await admin('POST', '/heapprofiler?enable=n')).status, 200);
});

test('profilers: a profile_path whose folder cannot be written fails the start with 500', async () => {
  const broken = await startLegate(
    config(path.join(dir, 'missing-folder', 'envoy.prof'), await freePort(), await freePort()),
  );
  try {
    const cpu = await fetch(`${broken.admin}/cpuprofiler?enable=y`, { method: 'POST' });
    assert.equal(cpu.status, 500);
    assert.match(
      await cpu.text(),
      /^failure to start the profiler: cannot write to .*missing-folder: ENOENT/,
    );
    const heap = await fetch(`${broken.admin}/heapprofiler?enable=y`, { method: 'POST' });
    assert.equal(heap.status, 500);
    assert.match(await heap.text(), /^Fail to start the heap profiler: cannot write to /);
    // Nothing was left running: stopping is the not-running answer.
    const stop = await fetch(`${broken.admin}/heapprofiler?enable=n`, { method: 'POST' });
    assert.equal(stop.status, 400);
  } finally {
    await broken.stop();
  }
});
