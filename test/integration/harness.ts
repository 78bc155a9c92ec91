/**
 * Integration test harness: a real `legate` process on loopback, found through its admin.
 *
 * Each server is started with `--admin-address-path` (the admin binds port 0), waited for
 * until `/ready` says LIVE, bounded in time, and stopped by its PID.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/legate.js');

export interface Legate {
  readonly proc: ChildProcess;
  readonly dir: string;
  /** `http://127.0.0.1:<port>` of the admin. */
  readonly admin: string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  /** Stops it by PID (SIGKILL after `graceMs`) and removes its directory. */
  stop(graceMs?: number): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = s.address() as net.AddressInfo;
      s.close(() => resolve(a.port));
    });
  });
}

/** An echo listener on `port` plus an admin on port 0, as Envoy YAML; `extra` is appended at top level. */
export function echoConfig(port: number, extra = ''): string {
  return `admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: echo
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.echo
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
${extra}`;
}

/** What `httpProxyConfig` adds to the plain one-listener, one-cluster HTTP proxy. */
export interface HttpProxyConfigOptions {
  /** The cluster's name (`backend`). */
  readonly cluster?: string;
  /** More `lb_endpoints` entries (YAML flow or block items, indented for the list). */
  readonly extraEndpoints?: string;
  /** Lines added under `admin:` (e.g. `  profile_path: /tmp/x`). */
  readonly admin?: string;
  /** More listeners, as YAML list items under `listeners:`. */
  readonly listeners?: string;
}

/**
 * An HTTP connection manager (`stat_prefix: ingress_http`) on 127.0.0.1:`port` routing every
 * path to one cluster with the host 127.0.0.1:`upstreamPort`; the admin on port 0.
 */
export function httpProxyConfig(
  port: number,
  upstreamPort: number,
  options: HttpProxyConfigOptions = {},
): string {
  const cluster = options.cluster ?? 'backend';
  return `admin:
${options.admin ?? ''}
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: http
    address: { socket_address: { address: 127.0.0.1, port_value: ${port} } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: / }
                route: { cluster: ${cluster} }
          http_filters:
          - name: envoy.filters.http.router
${options.listeners ?? ''}
  clusters:
  - name: ${cluster}
    load_assignment:
      cluster_name: ${cluster}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } }
${options.extraEndpoints ?? ''}
`;
}

/** A node:http upstream on 127.0.0.1 (port 0), answering with `handler`; `close()` ends its connections. */
export async function httpUpstream(
  handler: http.RequestListener,
): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Starts legate on `config` (YAML text). By default waits until the admin says LIVE; a
 * config without an admin can instead wait until `{ port }` accepts; `false` waits for nothing.
 */
export async function startLegate(
  config: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
  waitLive: boolean | { port: number } = true,
): Promise<Legate> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'legate-it-'));
  const configPath = path.join(dir, 'envoy.yaml');
  const addressPath = path.join(dir, 'admin.address');
  fs.writeFileSync(configPath, config);
  const proc = spawn(
    process.execPath,
    [BIN, '-c', configPath, '--admin-address-path', addressPath, ...args],
    {
      cwd: dir,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    err += d;
  });
  proc.stdout?.resume();
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const stop = async (graceMs = 5000): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      process.kill(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (proc.pid !== undefined && proc.exitCode === null) process.kill(proc.pid, 'SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const legate: Legate = { proc, dir, admin: '', stderr: () => err, exited, stop };
  if (waitLive === false) return legate;
  const deadline = Date.now() + 20_000;
  if (typeof waitLive === 'object') {
    while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
      if (await accepts(waitLive.port)) return legate;
      await new Promise((r) => setTimeout(r, 50));
    }
    await stop(100);
    throw new Error(`legate did not accept on port ${waitLive.port}:\n${err}`);
  }
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) break;
    if (fs.existsSync(addressPath)) {
      const admin = `http://${fs.readFileSync(addressPath, 'utf8').trim()}`;
      const ready = await fetch(`${admin}/ready`).then(
        (r) => r.text(),
        () => '',
      );
      if (ready.trim() === 'LIVE') return { ...legate, admin };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop(100);
  throw new Error(`legate did not become LIVE:\n${err}`);
}

/** One stat's value from the admin's text output (`undefined` when absent). */
export async function stat(admin: string, name: string): Promise<number | undefined> {
  const body = await fetch(
    `${admin}/stats?filter=${encodeURIComponent(`^${name.replaceAll('.', '\\.')}$`)}`,
  ).then((r) => r.text());
  const m = new RegExp(`^${name.replaceAll('.', '\\.')}: (\\d+)$`, 'm').exec(body);
  return m === null ? undefined : Number(m[1]);
}

/** Polls `check` every 50 ms until it is true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
