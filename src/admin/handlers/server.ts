/**
 * Admin endpoints about the server itself: `/ready`, `/server_info`, `/quitquitquit`, `/help`.
 *
 * Main thread. Output shapes follow Envoy's admin docs: `/ready` is the state name with
 * 200 when LIVE and 503 otherwise; `/server_info` is the `admin.v3.ServerInfo` JSON.
 * Envoy counterpart: `ServerInfoHandler`, `AdminImpl::handlerQuitQuitQuit`.
 */
import type { ProtoMessage } from '../../config/types.ts';
import type { ServerState } from '../../server/server-state.ts';
import { type AdminHandler, type AdminServer, json, text } from '../admin-server.ts';

export interface ServerInfoSource {
  state(): ServerState;
  readonly version: string;
  readonly hotRestartVersion: string;
  uptimeCurrentEpochSeconds(): number;
  uptimeAllEpochsSeconds(): number;
  /** Envoy's `CommandLineOptions` JSON (snake_case keys). */
  commandLineOptions(): Record<string, unknown>;
  node(): ProtoMessage;
  /** `/quitquitquit`: drain and exit. */
  quit(): void;
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
  ];
}
