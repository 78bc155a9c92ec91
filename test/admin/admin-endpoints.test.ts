/**
 * The admin endpoints over real HTTP against a real `legate` process: the `/` index, the
 * 405 every mutating endpoint answers a GET with, `/config_dump` (and its bootstrap fed
 * back to `legate --mode validate`), `/listeners`, `/memory`, `/certs`, `/init_dump`
 * (while a cluster's DNS never answers, and once live), `/hot_restart_version`,
 * `/logging` (down to the workers), `/healthcheck/fail` and `/healthcheck/ok` (the
 * server reports DRAINING and HTTP connections are told to close), `/drain_listeners`
 * (graceful, inbound only, then all, the process staying up), the admin's access logs,
 * the admin on a Unix socket, and the read-only admin listener that serves `/ready` and
 * `/stats` but no mutating endpoint. Output shapes are checked against Envoy's
 * documented ones (admin.v3 protos, `name::address` lines).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually, freePort, type Legate, ROOT, startLegate, stat } from '../integration/harness.ts';

const BIN = path.join(ROOT, 'bin/legate.js');
const TYPE = (name: string): string => `type.googleapis.com/envoy.admin.v3.${name}`;

/** Endpoints that change state: each answers only POST, when this build registers it. */
const MUTATING = [
  '/quitquitquit',
  '/logging',
  '/healthcheck/fail',
  '/healthcheck/ok',
  '/drain_listeners',
  '/reopen_logs',
  '/reset_counters',
  '/runtime_modify',
  '/cpuprofiler',
  '/heapprofiler',
];

/** The endpoints this file is about: registered in every build. */
const OURS = [
  '/',
  '/certs',
  '/config_dump',
  '/drain_listeners',
  '/healthcheck/fail',
  '/healthcheck/ok',
  '/hot_restart_version',
  '/init_dump',
  '/listeners',
  '/logging',
  '/memory',
  '/reopen_logs',
];

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

async function call(url: string, method = 'GET'): Promise<Reply> {
  const r = await fetch(url, { method });
  return { status: r.status, headers: r.headers, body: await r.text() };
}

/** The paths `/help` lists. */
async function registeredPaths(admin: string): Promise<string[]> {
  const help = (await call(`${admin}/help`)).body;
  return [...help.matchAll(/^ {2}(\/\S*): /gm)].map((m) => m[1] ?? '');
}

/** One HTTP/1.1 request on a kept-alive agent; the response's status, `connection` header and body. */
function httpGet(
  port: number,
  agent: http.Agent,
  urlPath: string,
): Promise<{ status: number; connection: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, connection: String(res.headers.connection ?? ''), body }),
      );
    });
    req.setTimeout(5000, () => req.destroy(new Error('no response within 5 s')));
    req.on('error', reject);
    req.end();
  });
}

/** Resolves true when a TCP connect to the port is accepted, false when refused. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** An open connection to an echo listener; `echo` writes a line and resolves with what comes back. */
async function echoConnection(port: number): Promise<{ echo(text: string): Promise<string>; close(): void }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.setEncoding('utf8');
  return {
    echo: (text) =>
      new Promise((resolve, reject) => {
        let got = '';
        const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5000);
        const onData = (d: string): void => {
          got += d;
          if (got.length >= text.length) {
            clearTimeout(timer);
            socket.off('data', onData);
            resolve(got);
          }
        };
        socket.on('data', onData);
        socket.write(text);
      }),
    close: () => socket.destroy(),
  };
}

/** `legate --mode validate -c file`: its exit code, standard output and error. */
function validate(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, '--mode', 'validate', '-c', file], { timeout: 30_000 }, (err, o, e) =>
      resolve({ code: err === null ? 0 : Number(err.code ?? 1), stdout: o, stderr: e }),
    );
  });
}

function httpListenerYaml(name: string, port: number, direction: string): string {
  return `  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    traffic_direction: ${direction}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}
          route_config:
            name: ${name}_routes
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { path: /healthz }
                direct_response: { status: 200, body: { inline_string: "ok" } }
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;
}

function echoListenerYaml(name: string, port: number, direction: string): string {
  return `  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    traffic_direction: ${direction}
    filter_chains:
    - filters:
      - name: envoy.filters.network.echo
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
`;
}

describe('a legate serving HTTP, with admin access logs and a read-only admin listener', () => {
  let legate: Legate;
  let dir: string;
  let port: number;
  let readOnly: string;
  const accessLog = (): string => path.join(dir, 'admin-access.log');
  const defaultFormatLog = (): string => path.join(dir, 'admin-default.log');

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-admin-'));
    port = await freePort();
    const readOnlyPort = await freePort();
    readOnly = `http://127.0.0.1:${readOnlyPort}`;
    const config = `node: { id: admin-test, cluster: tests }
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
  access_log_path: ${defaultFormatLog()}
  access_log:
  - name: envoy.access_loggers.file
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
      path: ${accessLog()}
      log_format:
        text_format_source: { inline_string: "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL% %RESPONSE_CODE% %BYTES_SENT% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%\\n" }
static_resources:
  listeners:
${httpListenerYaml('web', port, 'INBOUND')}`;
    legate = await startLegate(config, [
      '--concurrency',
      '2',
      '--admin-readonly-address',
      `127.0.0.1:${readOnlyPort}`,
    ]);
  });

  after(async () => {
    await legate?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('/ is a self-contained HTML index of every registered endpoint, mutating ones as POST forms', async () => {
    const r = await call(`${legate.admin}/`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const paths = await registeredPaths(legate.admin);
    for (const p of OURS) assert.ok(paths.includes(p), `/help lists ${p}`);
    for (const p of paths.filter((x) => x !== '/')) {
      assert.ok(r.body.includes(`action="${p}"`) || r.body.includes(`href="${p}"`), `the index links ${p}`);
    }
    for (const p of MUTATING.filter((m) => paths.includes(m))) {
      assert.ok(r.body.includes(`<form action="${p}" method="post">`), `${p} is a POST form`);
    }
    assert.ok(r.body.includes('name="resource"'), 'parameters become inputs (config_dump resource)');
    assert.ok(r.body.includes('<option value="json">json</option>'), 'an enum parameter becomes a list');
    assert.doesNotMatch(r.body, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'nothing fetched from elsewhere');
    assert.doesNotMatch(r.body, /<link\b/i);
  });

  test('GET on every mutating endpoint registered is 405 with allow: POST, and changes nothing', async () => {
    const paths = await registeredPaths(legate.admin);
    const mutating = MUTATING.filter((m) => paths.includes(m));
    assert.ok(mutating.length >= 6, `mutating endpoints registered: ${mutating.join(' ')}`);
    for (const p of mutating) {
      const r = await call(`${legate.admin}${p}`);
      assert.equal(r.status, 405, `GET ${p}`);
      assert.equal(r.headers.get('allow'), 'POST', `GET ${p}`);
    }
    assert.equal((await call(`${legate.admin}/ready`)).body, 'LIVE\n', 'GET /quitquitquit did not quit');
  });

  test('/config_dump: Envoy’s ConfigDump with typed entries; its bootstrap passes legate --mode validate', async () => {
    const r = await call(`${legate.admin}/config_dump`);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'application/json');
    const dump = JSON.parse(r.body) as { configs: Array<Record<string, unknown>> };
    assert.deepEqual(
      dump.configs.map((c) => c['@type']),
      [
        'BootstrapConfigDump',
        'ClustersConfigDump',
        'ListenersConfigDump',
        'ScopedRoutesConfigDump',
        'RoutesConfigDump',
        'SecretsConfigDump',
      ].map(TYPE),
    );
    const bootstrap = dump.configs[0]?.['bootstrap'] as { node: Record<string, unknown> };
    assert.equal(bootstrap.node['id'], 'admin-test');
    assert.equal(bootstrap.node['user_agent_name'], 'legate');
    const listeners = dump.configs[2]?.['static_listeners'] as Array<Record<string, Record<string, unknown>>>;
    assert.equal(
      listeners[0]?.['listener']?.['@type'],
      'type.googleapis.com/envoy.config.listener.v3.Listener',
    );
    assert.equal(listeners[0]?.['listener']?.['name'], 'web');
    assert.match(String(listeners[0]?.['last_updated']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    const file = path.join(dir, 'dumped-bootstrap.json');
    fs.writeFileSync(file, JSON.stringify(bootstrap));
    const v = await validate(file);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, 'OK\n');
    // Only the deprecation warning the original config also gets.
    assert.deepEqual(
      v.stderr.split('\n').filter((l) => l !== '' && !l.includes("'access_log_path' is deprecated")),
      [],
    );

    const one = await call(`${legate.admin}/config_dump?resource=static_listeners&mask=listener.name`);
    assert.deepEqual(JSON.parse(one.body), {
      configs: [
        {
          '@type': TYPE('ListenersConfigDump.StaticListener'),
          listener: { '@type': 'type.googleapis.com/envoy.config.listener.v3.Listener', name: 'web' },
        },
      ],
    });
    assert.equal((await call(`${legate.admin}/config_dump?resource=nothing_like_this`)).status, 404);
    const eds = JSON.parse((await call(`${legate.admin}/config_dump?include_eds`)).body) as typeof dump;
    assert.ok(eds.configs.some((c) => c['@type'] === TYPE('EndpointsConfigDump')));
  });

  test('/listeners: name::address lines with the bound port, or ListenersInfo JSON', async () => {
    const textOut = await call(`${legate.admin}/listeners`);
    assert.equal(textOut.body, `web::127.0.0.1:${port}\n`);
    const jsonOut = await call(`${legate.admin}/listeners?format=json`);
    assert.deepEqual(JSON.parse(jsonOut.body), {
      listener_statuses: [
        { name: 'web', local_address: { socket_address: { address: '127.0.0.1', port_value: port } } },
      ],
    });
    assert.equal((await call(`${legate.admin}/listeners?format=yaml`)).status, 400);
  });

  test('/memory: admin.v3.Memory, every field a decimal string as protobuf prints a uint64', async () => {
    const memory = JSON.parse((await call(`${legate.admin}/memory`)).body) as Record<string, string>;
    assert.deepEqual(Object.keys(memory), [
      'allocated',
      'heap_size',
      'pageheap_unmapped',
      'pageheap_free',
      'total_thread_cache',
      'total_physical_bytes',
    ]);
    for (const [k, v] of Object.entries(memory)) assert.match(v, /^\d+$/, k);
    assert.ok(Number(memory['allocated']) > 0 && Number(memory['allocated']) <= Number(memory['heap_size']));
  });

  test('/certs, /hot_restart_version, /init_dump once live', async () => {
    assert.deepEqual(JSON.parse((await call(`${legate.admin}/certs`)).body), { certificates: [] });
    assert.equal((await call(`${legate.admin}/hot_restart_version`)).body, 'legate.1\n');
    const info = JSON.parse((await call(`${legate.admin}/server_info`)).body) as Record<string, unknown>;
    assert.equal(info['hot_restart_version'], 'legate.1');
    assert.deepEqual(JSON.parse((await call(`${legate.admin}/init_dump`)).body), {});
    assert.deepEqual(JSON.parse((await call(`${legate.admin}/init_dump?mask=listener`)).body), {});
  });

  test('/healthcheck/fail: the server reports DRAINING and HTTP responses close; /healthcheck/ok undoes it', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await httpGet(port, agent, '/healthz');
      assert.equal(before.status, 200);
      assert.notEqual(before.connection, 'close');

      assert.equal((await call(`${legate.admin}/healthcheck/fail`, 'POST')).body, 'OK\n');
      const ready = await call(`${legate.admin}/ready`);
      assert.deepEqual([ready.status, ready.body], [503, 'DRAINING\n']);
      const info = JSON.parse((await call(`${legate.admin}/server_info`)).body) as Record<string, unknown>;
      assert.equal(info['state'], 'DRAINING');
      assert.equal(await stat(legate.admin, 'server.live'), 0);
      assert.equal(await stat(legate.admin, 'server.state'), 1);
      assert.ok(
        await eventually(async () => (await httpGet(port, agent, '/healthz')).connection === 'close'),
        'responses carry connection: close while the health check fails',
      );
      // The listeners still serve.
      assert.equal((await httpGet(port, agent, '/healthz')).body, 'ok');

      assert.equal((await call(`${legate.admin}/healthcheck/ok`, 'POST')).body, 'OK\n');
      const live = await call(`${legate.admin}/ready`);
      assert.deepEqual([live.status, live.body], [200, 'LIVE\n']);
      assert.equal(await stat(legate.admin, 'server.live'), 1);
      assert.equal(await stat(legate.admin, 'server.state'), 0);
      assert.ok(
        await eventually(async () => (await httpGet(port, agent, '/healthz')).connection !== 'close'),
        'keep-alive again once the health check passes',
      );
    } finally {
      agent.destroy();
    }
  });

  test('the read-only listener serves /ready and /stats but answers 404 to everything that mutates', async () => {
    const ready = await call(`${readOnly}/ready`);
    assert.deepEqual([ready.status, ready.body], [200, 'LIVE\n']);
    const stats = await call(`${readOnly}/stats?filter=^server\\.live$`);
    assert.equal(stats.status, 200);
    assert.equal(stats.body, 'server.live: 1\n');
    const mainProm = await call(`${legate.admin}/stats/prometheus`);
    assert.equal((await call(`${readOnly}/stats/prometheus`)).status, mainProm.status, 'as the admin does');
    for (const p of [
      '/quitquitquit',
      '/logging',
      '/healthcheck/fail',
      '/drain_listeners',
      '/reset_counters',
    ]) {
      const posted = await call(`${readOnly}${p}`, 'POST');
      assert.equal(posted.status, 404, `POST ${p}`);
      assert.doesNotMatch(posted.body, /quitquitquit/, 'the 404 lists only what this listener serves');
      assert.equal((await call(`${readOnly}${p}`)).status, 404, `GET ${p}`);
    }
    for (const p of ['/', '/config_dump', '/clusters', '/server_info', '/help']) {
      assert.equal((await call(`${readOnly}${p}`)).status, 404, `GET ${p}`);
    }
    assert.equal((await call(`${legate.admin}/ready`)).body, 'LIVE\n', 'still serving');
  });

  test('every admin request is access-logged: admin.access_log with its format, access_log_path with Envoy’s default', async () => {
    await call(`${legate.admin}/ready?probe=1`);
    await call(`${legate.admin}/quitquitquit`);
    assert.ok(
      await eventually(async () => {
        const lines = fs.existsSync(accessLog()) ? fs.readFileSync(accessLog(), 'utf8') : '';
        return lines.includes('GET /ready?probe=1 HTTP/1.1 200 5 127.0.0.1\n');
      }),
      'the formatted line',
    );
    const lines = fs.readFileSync(accessLog(), 'utf8');
    assert.match(lines, /^GET \/quitquitquit HTTP\/1\.1 405 \d+ 127\.0\.0\.1$/m);
    assert.match(lines, /^POST \/healthcheck\/fail HTTP\/1\.1 200 3 127\.0\.0\.1$/m);
    assert.ok(
      await eventually(async () => {
        const d = fs.existsSync(defaultFormatLog()) ? fs.readFileSync(defaultFormatLog(), 'utf8') : '';
        return /^\[\d{4}-\d\d-\d\dT[\d:.]+Z\] "GET \/ready\?probe=1 HTTP\/1\.1" 200 - 0 5 \d+ - "-" "[^"]*" "-" "127\.0\.0\.1:\d+" "-"$/m.test(
          d,
        );
      }),
      `Envoy's default format:\n${fs.existsSync(defaultFormatLog()) ? fs.readFileSync(defaultFormatLog(), 'utf8') : ''}`,
    );
    assert.match(
      fs.readFileSync(accessLog(), 'utf8'),
      /^GET \/ready HTTP\/1\.1 200 5 127\.0\.0\.1$/m,
      'read-only listener requests too',
    );
  });

  test('POST /reopen_logs reopens the admin access log at its path (after logrotate moved it)', async () => {
    const rotated = `${accessLog()}.1`;
    fs.renameSync(accessLog(), rotated);
    assert.equal((await call(`${legate.admin}/reopen_logs`, 'POST')).body, 'OK\n');
    await call(`${legate.admin}/ready?after=rotation`);
    assert.ok(
      await eventually(
        async () =>
          fs.existsSync(accessLog()) &&
          fs.readFileSync(accessLog(), 'utf8').includes('GET /ready?after=rotation HTTP/1.1 200'),
      ),
      'a new file at the configured path',
    );
    assert.doesNotMatch(fs.readFileSync(rotated, 'utf8'), /after=rotation/);
  });

  test('no warning about the admin address when it is loopback', () => {
    assert.doesNotMatch(legate.stderr(), /reachable from other hosts/);
  });

  test('/logging: POST changes levels on main and on every worker; bad names are 400 and change nothing', async () => {
    const bad = await call(`${legate.admin}/logging?paths=main:debug,nosuch:trace`, 'POST');
    assert.equal(bad.status, 400);
    assert.match(bad.body, /^error: unknown logger name\n\nusage: \/logging\?<name>=<level>/);
    assert.match(bad.body, /^ {2}main: info$/m, 'nothing changed');
    const badLevel = await call(`${legate.admin}/logging?level=loud`, 'POST');
    assert.equal(badLevel.status, 400);
    const all = await call(`${legate.admin}/logging?level=warning`, 'POST');
    assert.equal(all.status, 200);
    assert.match(all.body, /^active loggers:\n {2}admin: warning\n/);
    assert.doesNotMatch(all.body, /: (info|debug|trace)$/m);
    const some = await call(`${legate.admin}/logging?paths=main:debug,upstream:error`, 'POST');
    assert.match(some.body, /^ {2}main: debug$/m);
    assert.match(some.body, /^ {2}upstream: error$/m);
    assert.match(some.body, /^ {2}admin: warning$/m);
    const one = await call(`${legate.admin}/logging?conn_handler=trace`, 'POST');
    assert.match(one.body, /^ {2}conn_handler: trace$/m);
    // What the `/` page's form posts: parameters in the body, the untouched ones empty.
    const form = await fetch(`${legate.admin}/logging`, {
      method: 'POST',
      body: new URLSearchParams({ level: '', paths: 'router:critical' }),
    });
    assert.equal(form.status, 200);
    assert.match(await form.text(), /^ {2}router: critical$/m);
    // A worker logs "draining" at debug on its `main` logger: it shows only if the level reached it.
    await legate.stop();
    assert.match(legate.stderr(), /\[worker_\d\]\[debug\]\[main\] draining: \d+ connections open/);
  });
});

describe('/drain_listeners', () => {
  let legate: Legate;
  let httpPort: number;
  let echoPort: number;

  before(async () => {
    httpPort = await freePort();
    echoPort = await freePort();
    const config = `admin:
  address: { socket_address: { address: 0.0.0.0, port_value: 0 } }
static_resources:
  listeners:
${httpListenerYaml('inbound_http', httpPort, 'INBOUND')}${echoListenerYaml('outbound_echo', echoPort, 'OUTBOUND')}`;
    legate = await startLegate(config, [
      '--concurrency',
      '2',
      '--drain-time-s',
      '1',
      '--drain-strategy',
      'immediate',
    ]);
  });

  after(async () => {
    await legate?.stop();
  });

  test('an admin bound beyond loopback warns at start-up', () => {
    assert.match(
      legate.stderr(),
      /\[warning\]\[main\] the admin listens on 0\.0\.0\.0:\d+, which is reachable from other hosts/,
    );
  });

  test('skip_exit without graceful is a 400', async () => {
    const r = await call(`${legate.admin}/drain_listeners?skip_exit`, 'POST');
    assert.deepEqual([r.status, r.body], [400, 'skip_exit requires graceful\n']);
  });

  test('graceful + inboundonly: connections are told to close, then only the INBOUND listener stops; the process stays up', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const echo = await echoConnection(echoPort);
    try {
      assert.notEqual((await httpGet(httpPort, agent, '/healthz')).connection, 'close');
      const r = await call(`${legate.admin}/drain_listeners?graceful&inboundonly`, 'POST');
      assert.deepEqual([r.status, r.body], [200, 'OK\n']);
      // Before the drain time (1 s) ends and the listener stops.
      assert.ok(
        await eventually(
          async () => (await httpGet(httpPort, agent, '/healthz')).connection === 'close',
          800,
        ),
        'the drain sequence (immediate) asks HTTP connections to close',
      );
      assert.ok(
        await eventually(async () => !(await accepts(httpPort)), 5000),
        'inbound_http stops accepting',
      );
      assert.equal(await stat(legate.admin, 'listener_manager.listener_stopped'), 1);
      assert.ok(await accepts(echoPort), 'outbound_echo still accepts');
      assert.equal(await echo.echo('still here\n'), 'still here\n');
      const ready = await call(`${legate.admin}/ready`);
      assert.deepEqual(
        [ready.status, ready.body],
        [200, 'LIVE\n'],
        'draining listeners is not draining the server',
      );
      assert.equal(legate.proc.exitCode, null);

      const all = await call(`${legate.admin}/drain_listeners`, 'POST');
      assert.equal(all.status, 200);
      assert.ok(
        await eventually(async () => !(await accepts(echoPort)), 5000),
        'outbound_echo stops accepting',
      );
      assert.equal(await stat(legate.admin, 'listener_manager.listener_stopped'), 2);
      assert.equal(await echo.echo('open connections carry on\n'), 'open connections carry on\n');
      assert.equal(legate.proc.exitCode, null, 'the process is still running');
      assert.equal((await call(`${legate.admin}/ready`)).status, 200);
    } finally {
      echo.close();
      agent.destroy();
    }
  });
});

describe('the admin on a Unix socket', () => {
  test('serves over the socket (mode from the config), writes its path to --admin-address-path, and quits on POST /quitquitquit', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-pipe-'));
    const socketPath = path.join(dir, 'admin.sock');
    const port = await freePort();
    const config = `admin:
  address: { pipe: { path: ${socketPath}, mode: 384 } }
static_resources:
  listeners:
${echoListenerYaml('echo', port, 'UNSPECIFIED')}`;
    const legate = await startLegate(config, ['--concurrency', '1'], {}, { port });
    const overSocket = (urlPath: string, method = 'GET'): Promise<{ status: number; body: string }> =>
      new Promise((resolve, reject) => {
        const req = http.request({ socketPath, path: urlPath, method }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      assert.ok(await eventually(async () => (await overSocket('/ready')).body === 'LIVE\n'));
      const s = fs.statSync(socketPath);
      assert.ok(s.isSocket());
      assert.equal(s.mode & 0o777, 0o600);
      assert.equal(fs.readFileSync(path.join(legate.dir, 'admin.address'), 'utf8'), socketPath);
      assert.equal((await overSocket('/listeners')).body, `echo::127.0.0.1:${port}\n`);
      assert.equal((await overSocket('/quitquitquit')).status, 405);
      assert.equal((await overSocket('/quitquitquit', 'POST')).body, 'OK\n');
      assert.equal(await legate.exited, 0, 'drained and exited 0');
    } finally {
      await legate.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('/init_dump while a cluster waits for DNS', () => {
  test('lists the Server init manager’s unready target; ?mask=listener has none', async () => {
    // A name server that never answers: the cluster's first resolution stays pending.
    const dns = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', () => resolve()));
    const dnsPort = dns.address().port;
    const port = await freePort();
    const config = `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
${echoListenerYaml('echo', port, 'UNSPECIFIED')}  clusters:
  - name: svc
    type: STRICT_DNS
    connect_timeout: 1s
    dns_lookup_family: V4_ONLY
    typed_dns_resolver_config:
      name: envoy.network.dns_resolver.cares
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig
        resolvers: [{ socket_address: { address: 127.0.0.1, port_value: ${dnsPort} } }]
    load_assignment:
      cluster_name: svc
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: never.invalid, port_value: 80 } } } }] }]
`;
    const legate = await startLegate(config, ['--concurrency', '1'], {}, false);
    try {
      const addressFile = path.join(legate.dir, 'admin.address');
      let admin = '';
      assert.ok(
        await eventually(async () => {
          if (!fs.existsSync(addressFile)) return false;
          admin = `http://${fs.readFileSync(addressFile, 'utf8').trim()}`;
          return (await call(`${admin}/ready`).catch(() => ({ body: '' }))).body === 'INITIALIZING\n';
        }),
        `the server reaches INITIALIZING:\n${legate.stderr()}`,
      );
      const r = await call(`${admin}/init_dump`);
      assert.deepEqual(JSON.parse(r.body), {
        unready_targets_dumps: [{ name: 'Server', target_names: ['Cluster svc'] }],
      });
      assert.deepEqual(JSON.parse((await call(`${admin}/init_dump?mask=listener`)).body), {});
      assert.equal((await call(`${admin}/ready`)).status, 503);
    } finally {
      await legate.stop();
      dns.close();
    }
  });
});
