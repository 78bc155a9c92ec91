/**
 * The admin server itself (`src/admin/admin-server.ts`) on loopback sockets: POST-only
 * endpoints, parameters posted as a form, the access-log record of each request, the
 * read-only view (same handler objects, looked up per request, nothing that mutates), and
 * Unix sockets (a stale socket file replaced, the abstract namespace, the file mode).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, test } from 'node:test';
import {
  type AdminHandler,
  type AdminRequestRecord,
  AdminServer,
  text,
} from '../../src/admin/admin-server.ts';

const servers: AdminServer[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function echoQuery(path: string, mutates: boolean): AdminHandler {
  return {
    path,
    help: `${path} help`,
    mutates,
    handle: (query) => text(`${path} ${[...query].map(([k, v]) => `${k}=${v}`).join('&')}\n`),
  };
}

async function start(admin: AdminServer): Promise<string> {
  servers.push(admin);
  return `http://${await admin.listen({ host: '127.0.0.1', port: 0 })}`;
}

function request(
  options: http.RequestOptions,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        data += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('a mutating endpoint answers GET and HEAD with 405 and allow: POST; POST reaches it', async () => {
  const admin = new AdminServer();
  admin.addHandler(echoQuery('/change', true));
  const base = await start(admin);
  for (const method of ['GET', 'HEAD', 'PUT']) {
    const r = await fetch(`${base}/change?x=1`, { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'POST');
  }
  assert.equal(await (await fetch(`${base}/change?x=1`, { method: 'POST' })).text(), '/change x=1\n');
});

test('a form post carries its parameters in the body, after those of the query string', async () => {
  const admin = new AdminServer();
  admin.addHandler(echoQuery('/change', true));
  const base = await start(admin);
  const r = await fetch(`${base}/change?a=1`, {
    method: 'POST',
    body: new URLSearchParams({ b: '2', c: '' }),
  });
  assert.equal(await r.text(), '/change a=1&b=2&c=\n');
  const big = await fetch(`${base}/change`, {
    method: 'POST',
    body: new URLSearchParams({ b: 'x'.repeat(100_000) }),
  });
  assert.equal(big.status, 413);
});

test('each finished request reaches the access log with its method, target, status and byte counts', async () => {
  let now = 1000;
  const admin = new AdminServer({ clock: { monotonicNow: () => now++, systemNow: () => 1_700_000_000_000 } });
  admin.addHandler(echoQuery('/read', false));
  const records: AdminRequestRecord[] = [];
  admin.setAccessLog((r) => records.push(r));
  const base = await start(admin);
  await (await fetch(`${base}/read?q=1`, { headers: { 'user-agent': 'probe/1' } })).text();
  await (await fetch(`${base}/nowhere`)).text();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(records.length, 2);
  const [ok, missing] = records;
  assert.equal(ok?.method, 'GET');
  assert.equal(ok?.url, '/read?q=1');
  assert.equal(ok?.protocol, 'HTTP/1.1');
  assert.equal(ok?.status, 200);
  assert.equal(ok?.bytesSent, '/read q=1\n'.length);
  assert.equal(ok?.requestHeaders['user-agent'], 'probe/1');
  assert.equal(ok?.remoteAddress, '127.0.0.1');
  assert.equal(ok?.startTimeMs, 1_700_000_000_000);
  assert.ok((ok?.endMonotonicMs ?? 0) > (ok?.startMonotonicMs ?? 0));
  assert.equal(missing?.status, 404);
});

test('the read-only view serves only its paths that do not mutate, with handlers registered after it was made', async () => {
  const admin = new AdminServer();
  admin.addHandler(echoQuery('/ready', false));
  admin.addHandler(echoQuery('/quitquitquit', true));
  admin.addHandler(echoQuery('/config_dump', false));
  const view = admin.readOnlyView(['/ready', '/quitquitquit', '/stats']);
  assert.throws(() => view.addHandler(echoQuery('/x', false)), /read-only view/);
  admin.addHandler(echoQuery('/stats', false));
  const base = await start(view);
  assert.equal(await (await fetch(`${base}/ready`)).text(), '/ready \n');
  assert.equal(await (await fetch(`${base}/stats?usedonly`)).text(), '/stats usedonly=\n');
  for (const [p, method] of [
    ['/quitquitquit', 'POST'],
    ['/quitquitquit', 'GET'],
    ['/config_dump', 'GET'],
  ] as const) {
    const r = await fetch(`${base}${p}`, { method });
    assert.equal(r.status, 404, `${method} ${p}`);
    const body = await r.text();
    assert.match(
      body,
      /^invalid path\. admin commands are:\n {2}\/ready: \/ready help\n {2}\/stats: \/stats help\n$/,
    );
  }
  assert.deepEqual(
    view.handlerList().map((h) => h.path),
    ['/ready', '/stats'],
  );
});

test('a Unix socket admin replaces a stale socket file and applies the configured mode', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-admin-sock-'));
  dirs.push(dir);
  const socketPath = path.join(dir, 'admin.sock');
  // A socket file left behind by a process that was killed: nothing listens on it any more.
  const child = spawn(process.execPath, [
    '-e',
    `require('node:net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
  ]);
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', () => reject(new Error('the socket holder exited early')));
  });
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  assert.ok(fs.statSync(socketPath).isSocket(), 'the stale socket file is there');
  const admin = new AdminServer();
  admin.addHandler(echoQuery('/ready', false));
  servers.push(admin);
  assert.equal(await admin.listen({ pipe: socketPath, mode: 0o640 }), socketPath);
  assert.equal(fs.statSync(socketPath).mode & 0o777, 0o640);
  assert.equal((await request({ socketPath, path: '/ready' })).body, '/ready \n');
});

test('an @name pipe listens in the abstract namespace (Linux)', {
  skip: process.platform !== 'linux',
}, async () => {
  const name = `legate-admin-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const admin = new AdminServer();
  admin.addHandler(echoQuery('/ready', false));
  servers.push(admin);
  assert.equal(await admin.listen({ pipe: `@${name}` }), `@${name}`);
  assert.equal((await request({ socketPath: `\0${name}`, path: '/ready' })).body, '/ready \n');
});
