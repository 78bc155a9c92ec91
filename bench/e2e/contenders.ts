/**
 * The fixed backend and every contender of the side-by-side benchmark: how each is configured
 * and started on 127.0.0.1, pinned to its CPUs, and how the harness knows it is ready.
 *
 * Runs on the harness's main thread; configs are written into the run's temporary directory.
 * The configs are the plain, equivalent ones a user would write: one worker / one thread, a
 * keep-alive upstream for the L7 proxies, defaults otherwise. Legate runs the Envoy v3 YAML
 * kept in bench/configs/, with the listener and endpoint ports set at run time.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { Tools } from './install.ts';
import { type Server, sleep, startServer, stopPid, waitAccepting } from './processes.ts';

/** Which CPUs each role runs on (taskset lists). */
export interface Placement {
  /** wrk and the iperf3 client. */
  readonly load: string;
  /** The backend nginx and the iperf3 server. */
  readonly backend: string;
  /** Every 1-worker proxy. */
  readonly proxy: string;
  /** Proxies with 2 workers. */
  readonly proxy2: string;
}

export interface Ports {
  readonly backend: number;
  readonly iperf: number;
  readonly proxy: number;
}

/** What every start needs to know about the run. */
export interface Rig {
  readonly root: string;
  readonly tmp: string;
  readonly tools: Tools;
  /** The Node binary (Node 26) for Legate and the Node peers. */
  readonly node: string;
  readonly placement: Placement;
  readonly ports: Ports;
  readonly log: (line: string) => void;
}

export type Family = 'direct' | 'nginx' | 'haproxy' | 'node-http-proxy' | 'node-net-pipe' | 'legate';

export type StartOutcome =
  | { readonly kind: 'running'; readonly server: Server }
  | { readonly kind: 'unavailable'; readonly status: 'n/a' | 'failed'; readonly reason: string };

export interface Contender {
  /** Stable id, used in results files: `nginx`, `legate-tcp-2w`... */
  readonly id: string;
  /** As shown in tables. */
  readonly label: string;
  readonly layer: 'l7' | 'l4';
  readonly family: Family;
  readonly workers: number;
  /** Starts it listening on 127.0.0.1:`listenPort`, forwarding to 127.0.0.1:`upstreamPort`. */
  start(rig: Rig, listenPort: number, upstreamPort: number): Promise<StartOutcome>;
}

export const SMALL_BODY = 'hello world\n';
export const LARGE_BODY_BYTES = 65536;

// ---------------------------------------------------------------- nginx

function nginxCommon(dir: string): string {
  return `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }`;
}

function nginxHttpCommon(dir: string): string {
  return `access_log off;
  client_body_temp_path ${dir}/client_body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;`;
}

function startNginx(rig: Rig, name: string, cpus: string, conf: string): Server {
  const dir = path.join(rig.tmp, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, conf);
  return startServer(
    name,
    cpus,
    rig.tools.nginx ?? 'nginx',
    ['-e', path.join(dir, 'error.log'), '-p', dir, '-c', file],
    path.join(rig.tmp, `${name}.log`),
  );
}

/**
 * The fixed backend: nginx, 1 worker, `GET /` answers the 12-byte body from memory and
 * `GET /64k` a 65,536-byte file (sendfile).
 */
export async function startBackend(rig: Rig): Promise<Server> {
  if (rig.tools.nginx === null) throw new Error('nginx is not installed: it is the backend of every row');
  const dir = path.join(rig.tmp, 'backend');
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  fs.writeFileSync(path.join(www, '64k'), Buffer.alloc(LARGE_BODY_BYTES, 'legate-bench '), { mode: 0o644 });
  const server = startNginx(
    rig,
    'backend',
    rig.placement.backend,
    `worker_processes 1;
${nginxCommon(dir)}
http {
  ${nginxHttpCommon(dir)}
  sendfile on; tcp_nopush on; tcp_nodelay on;
  server {
    listen 127.0.0.1:${rig.ports.backend} backlog=4096;
    location = / { default_type text/plain; return 200 "${SMALL_BODY.replace('\n', '\\n')}"; }
    location = /64k { default_type application/octet-stream; root ${www}; }
  }
}
`,
  );
  if (!(await waitAccepting(server, rig.ports.backend, 10_000))) {
    await stopPid(server.pid);
    throw new Error(`the backend nginx did not start: ${tail(server.logPath)}`);
  }
  return server;
}

const nginxProxy: Contender = {
  id: 'nginx',
  label: 'nginx (1 worker)',
  layer: 'l7',
  family: 'nginx',
  workers: 1,
  async start(rig, listenPort, upstreamPort) {
    if (rig.tools.nginx === null)
      return { kind: 'unavailable', status: 'n/a', reason: 'nginx not installed' };
    const dir = path.join(rig.tmp, 'nginx-proxy');
    const server = startNginx(
      rig,
      'nginx-proxy',
      rig.placement.proxy,
      `worker_processes 1;
${nginxCommon(dir)}
http {
  ${nginxHttpCommon(dir)}
  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 256;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${listenPort} backlog=4096;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`,
    );
    return ready(server, listenPort, 10_000);
  },
};

const nginxStream: Contender = {
  id: 'nginx-stream',
  label: 'nginx stream (1 worker)',
  layer: 'l4',
  family: 'nginx',
  workers: 1,
  async start(rig, listenPort, upstreamPort) {
    if (rig.tools.nginx === null)
      return { kind: 'unavailable', status: 'n/a', reason: 'nginx not installed' };
    if (rig.tools.nginxStream === null) {
      return {
        kind: 'unavailable',
        status: 'n/a',
        reason: 'nginx has no stream module (libnginx-mod-stream)',
      };
    }
    const dir = path.join(rig.tmp, 'nginx-stream');
    const server = startNginx(
      rig,
      'nginx-stream',
      rig.placement.proxy,
      `${rig.tools.nginxStream}
worker_processes 1;
${nginxCommon(dir)}
stream {
  server {
    listen 127.0.0.1:${listenPort} backlog=4096;
    proxy_pass 127.0.0.1:${upstreamPort};
  }
}
`,
    );
    return ready(server, listenPort, 10_000);
  },
};

// ---------------------------------------------------------------- HAProxy

function haproxy(mode: 'http' | 'tcp'): Contender {
  return {
    id: mode === 'http' ? 'haproxy' : 'haproxy-tcp',
    label: mode === 'http' ? 'HAProxy http (1 thread)' : 'HAProxy tcp (1 thread)',
    layer: mode === 'http' ? 'l7' : 'l4',
    family: 'haproxy',
    workers: 1,
    async start(rig, listenPort, upstreamPort) {
      if (rig.tools.haproxy === null)
        return { kind: 'unavailable', status: 'n/a', reason: 'haproxy not installed' };
      const file = path.join(rig.tmp, `haproxy-${mode}.cfg`);
      fs.writeFileSync(
        file,
        `global
  nbthread 1
  maxconn 4096
defaults
  mode ${mode}
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend bench
  bind 127.0.0.1:${listenPort}
  default_backend backend
backend backend
  server backend 127.0.0.1:${upstreamPort}
`,
      );
      const server = startServer(
        `haproxy-${mode}`,
        rig.placement.proxy,
        rig.tools.haproxy,
        ['-db', '-f', file],
        path.join(rig.tmp, `haproxy-${mode}.log`),
      );
      return ready(server, listenPort, 10_000);
    },
  };
}

// ---------------------------------------------------------------- node-http-proxy

const nodeHttpProxy: Contender = {
  id: 'node-http-proxy',
  label: 'node-http-proxy (Node, 1 thread)',
  layer: 'l7',
  family: 'node-http-proxy',
  workers: 1,
  async start(rig, listenPort, upstreamPort) {
    if (rig.tools.httpProxy === null) {
      return { kind: 'unavailable', status: 'n/a', reason: 'http-proxy not installed (npm install)' };
    }
    const server = startServer(
      'node-http-proxy',
      rig.placement.proxy,
      rig.node,
      [
        '--no-deprecation',
        path.join(import.meta.dirname, '..', 'peers', 'node-http-proxy.ts'),
        '--listen',
        String(listenPort),
        '--upstream',
        String(upstreamPort),
      ],
      path.join(rig.tmp, 'node-http-proxy.log'),
    );
    return ready(server, listenPort, 10_000);
  },
};

// ---------------------------------------------------------------- Node net pipe (the runtime's floor)

const nodeNetPipe: Contender = {
  id: 'node-net-pipe',
  label: 'Node net pipe (floor of a Node TCP proxy, 1 thread)',
  layer: 'l4',
  family: 'node-net-pipe',
  workers: 1,
  async start(rig, listenPort, upstreamPort) {
    const server = startServer(
      'node-net-pipe',
      rig.placement.proxy,
      rig.node,
      [
        path.join(import.meta.dirname, '..', 'peers', 'node-net-pipe.ts'),
        '--listen',
        String(listenPort),
        '--upstream',
        String(upstreamPort),
      ],
      path.join(rig.tmp, 'node-net-pipe.log'),
    );
    return ready(server, listenPort, 10_000);
  },
};

// ---------------------------------------------------------------- Legate

/** The bench config `name` from bench/configs with the listener and endpoint ports set, as `file`. */
function legateConfig(name: string, file: string, listenPort: number, upstreamPort: number): string {
  const doc = parseDocument(fs.readFileSync(path.join(import.meta.dirname, '..', 'configs', name), 'utf8'));
  doc.setIn(['static_resources', 'listeners', 0, 'address', 'socket_address', 'port_value'], listenPort);
  doc.setIn(
    [
      'static_resources',
      'clusters',
      0,
      'load_assignment',
      'endpoints',
      0,
      'lb_endpoints',
      0,
      'endpoint',
      'address',
      'socket_address',
      'port_value',
    ],
    upstreamPort,
  );
  fs.writeFileSync(file, doc.toString());
  return file;
}

function legate(layer: 'l7' | 'l4', workers: number): Contender {
  const config = layer === 'l7' ? 'legate-http.yaml' : 'legate-tcp.yaml';
  return {
    id: `legate-${layer === 'l7' ? 'http' : 'tcp'}-${workers}w`,
    label: `Legate ${layer === 'l7' ? 'HCM + router' : 'tcp_proxy'} (${workers} worker${workers > 1 ? 's' : ''})`,
    layer,
    family: 'legate',
    workers,
    async start(rig, listenPort, upstreamPort) {
      const name = `legate-${layer}-${workers}w`;
      const file = legateConfig(config, path.join(rig.tmp, `${name}.yaml`), listenPort, upstreamPort);
      const bin = path.join(rig.root, 'bin', 'legate.js');
      const check = spawnSync(rig.node, [bin, '--mode', 'validate', '-c', file], { encoding: 'utf8' });
      if (check.status !== 0) {
        const why = `${check.stdout}${check.stderr}`.trim().split('\n').slice(0, 3).join(' / ');
        return { kind: 'unavailable', status: 'failed', reason: `config does not validate: ${why}` };
      }
      const addressPath = path.join(rig.tmp, `${name}.admin`);
      fs.rmSync(addressPath, { force: true });
      const server = startServer(
        name,
        workers > 1 ? rig.placement.proxy2 : rig.placement.proxy,
        rig.node,
        [bin, '-c', file, '--concurrency', String(workers), '--admin-address-path', addressPath],
        path.join(rig.tmp, `${name}.log`),
        { cwd: rig.root },
      );
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline && server.running()) {
        if ((await adminReady(addressPath)) && (await waitAccepting(server, listenPort, 2000))) {
          return { kind: 'running', server };
        }
        await sleep(50);
      }
      const exit = server.running() ? 'still not LIVE after 20 s' : `exit ${await server.exited}`;
      await stopPid(server.pid);
      const log = fs.readFileSync(server.logPath, 'utf8');
      if (/not supported by Legate yet: envoy\.filters\.network\.http_connection_manager/.test(log)) {
        return { kind: 'unavailable', status: 'n/a', reason: 'HTTP data path not built yet' };
      }
      const unsupported = /not supported by Legate yet: [^\n]*/.exec(log);
      if (unsupported !== null) return { kind: 'unavailable', status: 'n/a', reason: unsupported[0] };
      return {
        kind: 'unavailable',
        status: 'failed',
        reason: `legate did not start (${exit}): ${tail(server.logPath)}`,
      };
    },
  };
}

async function adminReady(addressPath: string): Promise<boolean> {
  let address: string;
  try {
    address = fs.readFileSync(addressPath, 'utf8').trim();
  } catch {
    return false;
  }
  if (address === '') return false;
  try {
    const r = await fetch(`http://${address}/ready`, { signal: AbortSignal.timeout(1000) });
    return (await r.text()).trim() === 'LIVE';
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------- shared

async function ready(server: Server, port: number, timeoutMs: number): Promise<StartOutcome> {
  if (await waitAccepting(server, port, timeoutMs)) return { kind: 'running', server };
  const exit = server.running() ? 'not listening' : `exit ${await server.exited}`;
  await stopPid(server.pid);
  return {
    kind: 'unavailable',
    status: 'failed',
    reason: `${server.name} did not start (${exit}): ${tail(server.logPath)}`,
  };
}

/** The last lines of a log, on one line. */
export function tail(file: string, lines = 3): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' / ');
  } catch {
    return '';
  }
}

/**
 * One GET through 127.0.0.1:`port`: resolves with '' when it answers 200 with the expected
 * body size, else with what went wrong.
 */
export function checkTarget(port: number, urlPath: string, expectedBytes: number): Promise<string> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: 3000 }, (res) => {
      let bytes = 0;
      res.on('data', (d: Buffer) => {
        bytes += d.length;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) resolve(`status ${res.statusCode} on ${urlPath}`);
        else if (bytes !== expectedBytes) resolve(`${bytes} bytes instead of ${expectedBytes} on ${urlPath}`);
        else resolve('');
      });
      res.on('error', (e) => resolve(`${urlPath}: ${e.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')));
    req.on('error', (e) => resolve(`${urlPath}: ${e.message}`));
  });
}

/** The L7 contenders, in the order they are measured. */
export const L7_CONTENDERS: readonly Contender[] = [
  nginxProxy,
  haproxy('http'),
  nodeHttpProxy,
  legate('l7', 1),
];

/** The L4 contenders (1-worker ones first; Legate with 2 workers is the scaling row). */
export const L4_CONTENDERS: readonly Contender[] = [
  nginxStream,
  haproxy('tcp'),
  nodeNetPipe,
  legate('l4', 1),
  legate('l4', 2),
];
