/**
 * Admin `/listeners` and `/drain_listeners`.
 *
 * Main thread. `/listeners` prints each listener as `name::address` (the bound port when
 * the config said 0), or with `?format=json` Envoy's `admin.v3.Listeners`
 * (`listener_statuses` with `name` and `local_address`). `POST /drain_listeners` stops the
 * listeners accepting without exiting the process: at once, or with `?graceful` after a
 * drain period (`--drain-time-s`, `--drain-strategy`) during which connections are told to
 * close; `?inboundonly` limits it to `traffic_direction: INBOUND` listeners; `?skip_exit`
 * (with `graceful` only) drains without stopping the listeners at the end. Envoy
 * counterpart: `ListenersHandler` (source/server/admin/listeners_handler.cc).
 */
import { type AdminHandler, protoJson, text } from '../admin-server.ts';

export type ListenerAddress = { readonly host: string; readonly port: number } | { readonly pipe: string };

export interface DrainListenersOptions {
  readonly graceful: boolean;
  readonly inboundOnly: boolean;
  readonly skipExit: boolean;
}

export interface ListenersSource {
  /** Every active listener with the address it is bound to. */
  listenerAddresses(): ReadonlyArray<{ readonly name: string; readonly address: ListenerAddress }>;
  drainListeners(options: DrainListenersOptions): void;
}

/** Envoy's `Address::asString()`: `127.0.0.1:80`, `[::1]:80`, or the pipe's path. */
export function addressString(a: ListenerAddress): string {
  if ('pipe' in a) return a.pipe;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** An `envoy.config.core.v3.Address` as proto JSON. */
export function addressJson(a: ListenerAddress): Record<string, unknown> {
  if ('pipe' in a) return { pipe: { path: a.pipe } };
  return { socket_address: { address: a.host, port_value: a.port } };
}

export function listenersHandlers(source: ListenersSource): AdminHandler[] {
  return [
    {
      path: '/listeners',
      help: 'print listener info',
      mutates: false,
      params: [{ name: 'format', type: 'enum', choices: ['text', 'json'], help: 'File format to use' }],
      handle: (query) => {
        const format = query.get('format') ?? 'text';
        const listeners = source.listenerAddresses();
        if (format === 'json') {
          return protoJson({
            listener_statuses: listeners.map((l) => ({
              name: l.name,
              local_address: addressJson(l.address),
            })),
          });
        }
        if (format !== 'text') return text('usage: /listeners?format=(text|json)\n', 400);
        return text(listeners.map((l) => `${l.name}::${addressString(l.address)}\n`).join(''));
      },
    },
    {
      path: '/drain_listeners',
      help: 'drain listeners',
      mutates: true,
      params: [
        {
          name: 'graceful',
          type: 'boolean',
          help: 'When draining listeners, enter a graceful drain period prior to closing listeners. This behaviour and duration is configurable via server options or CLI',
        },
        {
          name: 'skip_exit',
          type: 'boolean',
          help: 'When draining listeners, do not exit after the drain period. This must be used with graceful',
        },
        {
          name: 'inboundonly',
          type: 'boolean',
          help: 'Drains all inbound listeners. traffic_direction field in Listener is used to determine whether a listener is inbound or outbound.',
        },
      ],
      handle: (query) => {
        const options = {
          graceful: query.has('graceful'),
          inboundOnly: query.has('inboundonly'),
          skipExit: query.has('skip_exit'),
        };
        if (options.skipExit && !options.graceful) return text('skip_exit requires graceful\n', 400);
        source.drainListeners(options);
        return text('OK\n');
      },
    },
  ];
}
