/**
 * Admin endpoints about the server itself: `/ready`, `/server_info`, `/quitquitquit`,
 * `/help`, `/hot_restart_version`, `/healthcheck/fail`, `/healthcheck/ok`, `/memory`,
 * `/certs`.
 *
 * Main thread. Output shapes follow Envoy's admin docs: `/ready` is the state name with
 * 200 when LIVE and 503 otherwise; `/server_info` is the `admin.v3.ServerInfo` JSON;
 * `/memory` the `admin.v3.Memory` JSON (64-bit counts as strings, as protobuf prints
 * them), from V8's heap statistics; `/certs` the `admin.v3.Certificates` JSON. A failed
 * health check (`POST /healthcheck/fail`) makes the server report DRAINING while its
 * listeners keep serving, until `POST /healthcheck/ok`. Envoy counterpart:
 * `ServerInfoHandler`, `AdminImpl::handlerQuitQuitQuit`, `AdminImpl::handlerHelp`.
 */
import v8 from 'node:v8';
import type { ProtoMessage } from '../../config/types.ts';
import type { ServerState } from '../../server/server-state.ts';
import { type AdminHandler, type AdminServer, json, protoJson, text } from '../admin-server.ts';

export interface ServerInfoSource {
  /** The state as the admin reports it (DRAINING while the health check is failed). */
  state(): ServerState;
  readonly version: string;
  /** The hot restart compatibility version, `disabled` with `--disable-hot-restart`. */
  readonly hotRestartVersion: string;
  uptimeCurrentEpochSeconds(): number;
  uptimeAllEpochsSeconds(): number;
  /** Envoy's `CommandLineOptions` JSON (snake_case keys). */
  commandLineOptions(): Record<string, unknown>;
  node(): ProtoMessage;
  /** `/quitquitquit`: drain and exit. */
  quit(): void;
  /** `/healthcheck/fail` (true) and `/healthcheck/ok` (false). */
  failHealthcheck(fail: boolean): void;
  /** The `admin.v3.CertificateDetails` JSON of every certificate in use. */
  certificates(): readonly Record<string, unknown>[];
}

/** `admin.v3.Memory` from the process's V8 heap; uint64 fields print as strings, as protobuf's JSON does. */
export function memoryJson(): Record<string, string> {
  const heap = v8.getHeapStatistics();
  const usage = process.memoryUsage();
  return {
    allocated: String(heap.used_heap_size),
    heap_size: String(heap.total_heap_size),
    // Reserved by the heap but not backed by physical pages.
    pageheap_unmapped: String(Math.max(0, heap.total_heap_size - heap.total_physical_size)),
    // Backed by physical pages but holding no object.
    pageheap_free: String(Math.max(0, heap.total_physical_size - heap.used_heap_size)),
    // V8 has no per-thread caches outside its heap's own accounting.
    total_thread_cache: '0',
    total_physical_bytes: String(usage.rss),
  };
}

export function serverHandlers(server: ServerInfoSource, admin: AdminServer): AdminHandler[] {
  return [
    {
      path: '/ready',
      help: 'print server state, return 200 if LIVE, otherwise return 503',
      mutates: false,
      handle: () => {
        const state = server.state();
        return text(`${state}\n`, state === 'LIVE' ? 200 : 503);
      },
    },
    {
      path: '/server_info',
      help: 'print server version/status information',
      mutates: false,
      handle: () =>
        json({
          version: server.version,
          state: server.state(),
          hot_restart_version: server.hotRestartVersion,
          command_line_options: server.commandLineOptions(),
          node: server.node(),
          uptime_current_epoch: `${server.uptimeCurrentEpochSeconds()}s`,
          uptime_all_epochs: `${server.uptimeAllEpochsSeconds()}s`,
        }),
    },
    {
      path: '/quitquitquit',
      help: 'exit the server',
      mutates: true,
      handle: () => {
        server.quit();
        return text('OK\n');
      },
    },
    {
      path: '/help',
      help: 'print out list of admin commands',
      mutates: false,
      handle: () => text(`admin commands are:\n${admin.helpText()}`),
    },
    {
      path: '/hot_restart_version',
      help: 'print the hot restart compatibility version',
      mutates: false,
      handle: () => text(`${server.hotRestartVersion}\n`),
    },
    {
      path: '/healthcheck/fail',
      help: 'cause the server to fail health checks',
      mutates: true,
      handle: () => {
        server.failHealthcheck(true);
        return text('OK\n');
      },
    },
    {
      path: '/healthcheck/ok',
      help: 'cause the server to pass health checks',
      mutates: true,
      handle: () => {
        server.failHealthcheck(false);
        return text('OK\n');
      },
    },
    {
      path: '/memory',
      help: 'print current allocation/heap usage',
      mutates: false,
      handle: () => protoJson(memoryJson()),
    },
    {
      path: '/certs',
      help: 'print certs on machine',
      mutates: false,
      handle: () => protoJson({ certificates: server.certificates() }),
    },
  ];
}
