/**
 * The server's life-cycle states, with the numbers Envoy reports in `server.state`.
 *
 * Main thread. Envoy counterpart: `envoy::admin::v3::ServerInfo::State`.
 */
export type ServerState = 'LIVE' | 'DRAINING' | 'PRE_INITIALIZING' | 'INITIALIZING';

/** `server.state` gauge values: LIVE 0, DRAINING 1, PRE_INITIALIZING 2, INITIALIZING 3. */
export const SERVER_STATE_GAUGE: Readonly<Record<ServerState, number>> = {
  LIVE: 0,
  DRAINING: 1,
  PRE_INITIALIZING: 2,
  INITIALIZING: 3,
};
