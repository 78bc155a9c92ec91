/**
 * Every process the side-by-side benchmark starts: servers (the backend, each contender,
 * iperf3's server) and clients (wrk, iperf3's client), each pinned to its CPUs with `taskset`.
 *
 * Runs on the harness's main thread. Servers start in a session of their own (`detached`), so
 * the process group id is the server's PID and one signal to `-pid` reaches nginx's master and
 * its workers alike. Each is stopped by that PID: SIGTERM, then SIGKILL after a grace period.
 * A registry keeps every PID still running; on Ctrl-C, SIGTERM, an uncaught error or a normal
 * exit it stops all of them, so no server outlives the run. Nothing is ever killed by name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

/** A server started by the harness, pinned and in its own process group. */
export interface Server {
  readonly name: string;
  /** The PID, which is also the process group id. */
  readonly pid: number;
  readonly cpus: string;
  /** Where its stdout and stderr go. */
  readonly logPath: string;
  /** Resolves with the exit code (or the signal's name) when it has ended. */
  readonly exited: Promise<number | string>;
  /** True until it has exited. */
  running(): boolean;
}

const live = new Map<number, ChildProcess>();
const exitHooks: (() => void)[] = [];
let handlersInstalled = false;

/** Runs `hook` (synchronously) when the process exits, however it exits, after the servers are killed. */
export function addExitHook(hook: () => void): void {
  exitHooks.push(hook);
}

/**
 * Installs the handlers that stop every registered process on exit, Ctrl-C, SIGTERM or an
 * uncaught error. `onSignal` runs first (e.g. to say what was interrupted).
 */
export function installCleanupHandlers(onSignal: (signal: string) => void): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', () => {
    killAllNow();
    for (const hook of exitHooks) {
      try {
        hook();
      } catch {
        // best effort while exiting
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      onSignal(signal);
      void stopAll().finally(() => process.exit(130));
    });
  }
  process.on('uncaughtException', (err) => {
    process.stderr.write(`bench: ${err.stack ?? String(err)}\n`);
    void stopAll().finally(() => process.exit(1));
  });
}

/** SIGKILL to every process group still registered (synchronous: usable in 'exit'). */
function killAllNow(): void {
  for (const pid of live.keys()) signalGroup(pid, 'SIGKILL');
  live.clear();
}

/** Stops every registered process (TERM, then KILL), in parallel. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live.keys()].map((pid) => stopPid(pid)));
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Stops the process `pid` that this module started (its group): TERM, then KILL after `graceMs`. */
export async function stopPid(pid: number, graceMs = 5000): Promise<void> {
  const child = live.get(pid);
  if (child === undefined) return;
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    signalGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
  // workers of the group (nginx's) may outlive the leader by a moment: make sure they are gone
  signalGroup(pid, 'SIGKILL');
  live.delete(pid);
}

/**
 * Starts `command args` pinned to `cpus` (taskset), in its own session, output to `logPath`.
 * `cwd` and `env` are optional.
 */
export function startServer(
  name: string,
  cpus: string,
  command: string,
  args: readonly string[],
  logPath: string,
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Server {
  const fd = fs.openSync(logPath, 'a');
  const child = spawn('taskset', ['-c', cpus, command, ...args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    cwd: options.cwd,
    env: options.env ?? process.env,
  });
  fs.closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  live.set(pid, child);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.once('error', () => resolve(-1));
  });
  return {
    name,
    pid,
    cpus,
    logPath,
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}

/** What a client run gave back. */
export interface ClientResult {
  readonly code: number | string;
  readonly stdout: string;
  readonly stderr: string;
  /** CPU seconds (user + system) the client used, from its parent's cutime + cstime. */
  readonly cpuSeconds: number;
}

/**
 * Runs `command args` pinned to `cpus` to completion. It runs under `sh`, which after reaping
 * it prints its own /proc stat line: cutime + cstime there is exactly the client's CPU time.
 * The client is registered like a server, so Ctrl-C stops it too.
 */
export function runClient(
  cpus: string,
  command: string,
  args: readonly string[],
  clockTicks: number,
  timeoutMs: number,
): Promise<ClientResult> {
  const script = 'taskset -c "$0" "$@" 2>&1; rc=$?; cat /proc/$$/stat >&2; exit $rc';
  const child = spawn('sh', ['-c', script, cpus, command, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`could not start ${command}`));
  live.set(pid, child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(pid);
      const statLine = stderr.split('\n').find((l) => l.startsWith(`${pid} (`)) ?? '';
      const fields = statFields(statLine);
      const ticks = Number(fields[13] ?? 0) + Number(fields[14] ?? 0);
      resolve({ code: code ?? signal ?? -1, stdout, stderr, cpuSeconds: ticks / clockTicks });
    });
  });
}

/** The fields of a /proc/<pid>/stat line after the command name: [0] is field 3 (state). */
export function statFields(line: string): string[] {
  const close = line.lastIndexOf(')');
  if (close < 0) return [];
  return line
    .slice(close + 2)
    .trim()
    .split(' ');
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits until 127.0.0.1:`port` accepts, `server` dies, or `timeoutMs` passes. */
export async function waitAccepting(server: Server, port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!server.running()) return false;
    if (await accepts(port)) return true;
    await sleep(50);
  }
  return false;
}

/** True when nothing listens on 127.0.0.1:`port` (we can bind it). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
