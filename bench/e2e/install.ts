/**
 * Finds the tools the side-by-side benchmark needs and, on Debian, installs the missing ones:
 * nginx (with its stream module), HAProxy, wrk, iperf3 and nghttp2-client from apt-get (with
 * `sudo` unless already root), node-http-proxy from npm (a dev dependency of this package).
 *
 * Runs on the harness's main thread, before anything is started. While apt installs, a
 * temporary /usr/sbin/policy-rc.d keeps the packages from starting their own services (an
 * nginx on :80, a system HAProxy) if the machine has no such policy already.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Where each tool was found (`null`: missing), and the nginx stream module's loading line. */
export interface Tools {
  nginx: string | null;
  haproxy: string | null;
  wrk: string | null;
  iperf3: string | null;
  h2load: string | null;
  /** `load_module ...;` when nginx has stream as a dynamic module, '' when built in, null when absent. */
  nginxStream: string | null;
  /** The directory holding node-http-proxy (`http-proxy`), or null. */
  httpProxy: string | null;
}

const SBIN = ['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/local/bin', '/usr/bin', '/bin'];

/** Full path of `name` from PATH or the sbin directories (nginx and haproxy live in /usr/sbin). */
export function which(name: string): string | null {
  const dirs = [...(process.env['PATH'] ?? '').split(':').filter((d) => d !== ''), ...SBIN];
  for (const dir of dirs) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

const STREAM_MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/lib64/nginx/modules', '/usr/share/nginx/modules'];

function nginxStream(nginx: string | null): string | null {
  if (nginx === null) return null;
  const r = spawnSync(nginx, ['-V'], { encoding: 'utf8' });
  const build = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (/--with-stream(\s|$)/.test(build)) return '';
  for (const dir of STREAM_MODULE_DIRS) {
    const so = path.join(dir, 'ngx_stream_module.so');
    if (fs.existsSync(so)) return `load_module ${so};`;
  }
  return null;
}

export function findTools(root: string): Tools {
  const nginx = which('nginx');
  const httpProxy = path.join(root, 'node_modules', 'http-proxy');
  return {
    nginx,
    haproxy: which('haproxy'),
    wrk: which('wrk'),
    iperf3: which('iperf3'),
    h2load: which('h2load'),
    nginxStream: nginxStream(nginx),
    httpProxy: fs.existsSync(path.join(httpProxy, 'package.json')) ? httpProxy : null,
  };
}

type Log = (line: string) => void;

/** Runs a command as root (directly, or through sudo), output to our stderr. */
function asRoot(args: readonly string[], env: NodeJS.ProcessEnv = {}): boolean {
  const root = process.getuid?.() === 0;
  const [cmd, ...rest] = root
    ? args
    : ['sudo', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...args];
  const r = spawnSync(cmd ?? 'true', rest, {
    stdio: ['inherit', 'ignore', 'inherit'],
    env: { ...process.env, ...env },
  });
  return r.status === 0;
}

const POLICY = '/usr/sbin/policy-rc.d';

/** apt-get install `packages` (after apt-get update), without starting their services. */
function aptInstall(packages: readonly string[], log: Log): void {
  if (which('apt-get') === null) {
    log(`missing ${packages.join(', ')} and no apt-get here: install them, then run again`);
    return;
  }
  log(`apt-get install ${packages.join(' ')}${process.getuid?.() === 0 ? '' : ' (via sudo)'}`);
  let madePolicy = false;
  if (!fs.existsSync(POLICY)) {
    madePolicy = asRoot(['sh', '-c', `printf '#!/bin/sh\\nexit 101\\n' > ${POLICY} && chmod 755 ${POLICY}`]);
  }
  try {
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    asRoot(['apt-get', 'update', '-qq'], env);
    const base = ['apt-get', 'install', '-y', '-qq', '--no-install-recommends'];
    if (!asRoot([...base, ...packages], env)) {
      // one at a time, so one unavailable package does not keep the others out
      for (const p of packages) if (!asRoot([...base, p], env)) log(`apt-get could not install ${p}`);
    }
  } finally {
    if (madePolicy) asRoot(['rm', '-f', POLICY]);
  }
}

/**
 * Installs what is missing (unless `install` is false) and returns what is there. Missing
 * tools are not fatal: their rows are reported as n/a.
 */
export function ensureTools(root: string, install: boolean, log: Log): Tools {
  let tools = findTools(root);
  if (!install) return tools;
  const apt: string[] = [];
  if (tools.nginx === null) apt.push('nginx');
  if (tools.nginxStream === null && fs.existsSync('/etc/debian_version')) apt.push('libnginx-mod-stream');
  if (tools.haproxy === null) apt.push('haproxy');
  if (tools.wrk === null) apt.push('wrk');
  if (tools.iperf3 === null) apt.push('iperf3');
  if (tools.h2load === null) apt.push('nghttp2-client');
  if (which('taskset') === null) apt.push('util-linux');
  if (apt.length > 0) {
    aptInstall(apt, log);
    tools = findTools(root);
    // older Debian releases ship the server as nginx-light
    if (tools.nginx === null) aptInstall(['nginx-light'], log);
  }
  if (tools.httpProxy === null) {
    log('npm install (node-http-proxy is a dev dependency)');
    spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
      cwd: root,
      stdio: ['inherit', 'ignore', 'inherit'],
    });
  }
  return findTools(root);
}

/** First line of a command's output (stdout and stderr together), or '' if it cannot run. */
export function firstLine(cmd: string | null, args: readonly string[]): string {
  if (cmd === null) return '';
  try {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 5000 });
    return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').find((l) => l.trim() !== '') ?? '';
  } catch {
    return '';
  }
}

/** Legate's git commit (short), with `+dirty` when the work tree has changes; '' outside git. */
export function gitCommit(root: string): string {
  try {
    const head = execFileSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const dirty =
      execFileSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no'], {
        encoding: 'utf8',
      }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return '';
  }
}
