/**
 * Test helpers for the upstream HTTP pools and the router: a worker's pieces on a real
 * Dispatcher (real time, real sockets), STATIC clusters on loopback ports, misbehaving raw
 * upstreams, a recording stream decoder, and bounded waits (every wait fails the test after
 * BOUND_MS instead of hanging; none asserts on time).
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { ProtoMessage } from '../../../src/config/types.ts';
import { DispatcherImpl, realBackend } from '../../../src/event/dispatcher.ts';
import { type WorkerConnPools, workerConnPools } from '../../../src/http/conn-pool/cluster-pools.ts';
import type {
  ClusterHttpSettings,
  ConnectionPoolCallbacks,
  PoolFailureReason,
  UpstreamConnectionInfo,
  UpstreamStreamDecoder,
} from '../../../src/http/conn-pool/types.ts';
import { HeaderMapImpl } from '../../../src/http/header-map.ts';
import { http1Settings, MAX_RESPONSE_HEADERS_KB } from '../../../src/http/http1/settings.ts';
import type { HeaderMap, RequestEncoder, StreamResetReason } from '../../../src/http/types.ts';
import { ThreadStats } from '../../../src/stats/thread-stats.ts';
import { clusterData } from '../../../src/upstream/cluster-data.ts';
import { ThreadLocalClusterManager } from '../../../src/upstream/thread-local-cluster-manager.ts';
import type { ClusterData, Host, HostData } from '../../../src/upstream/types.ts';

export const BOUND_MS = 5000;

export function within<T>(p: Promise<T>, what: string, ms = BOUND_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** Polls `cond` until true (bounded). */
export async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** One worker's upstream side: dispatcher, stats, thread-local clusters and pools. */
export class TestWorker {
  readonly dispatcher = new DispatcherImpl('worker_0', realBackend());
  readonly stats = new ThreadStats(() => {}, { immediate: true });
  readonly cm: ThreadLocalClusterManager;
  readonly pools: WorkerConnPools;

  /** `random` seeds the load balancers (0: round robin starts at the first host). */
  constructor(random: () => number = Math.random) {
    this.cm = new ThreadLocalClusterManager(this.dispatcher, this.stats, random);
    this.pools = workerConnPools(this.cm, this.dispatcher);
  }

  counter(name: string): number {
    return this.stats.counter(name).value();
  }

  gauge(name: string): number {
    return this.stats.gauge(name).value();
  }

  /** Closes every pooled connection and stops the dispatcher. */
  close(): void {
    this.pools.closeAll();
    this.cm.shutdown();
    this.dispatcher.exit();
  }
}

export function hostData(port: number, slot: number, extra: Partial<HostData> = {}): HostData {
  return {
    address: '127.0.0.1',
    port,
    hostname: '',
    weight: 1,
    priority: 0,
    locality: { region: '', zone: '', subZone: '' },
    localityWeight: undefined,
    healthStatus: 'HEALTHY',
    statsSlot: slot,
    ...extra,
  };
}

/** A STATIC cluster on loopback `ports`; `proto` adds Cluster fields, `http` the pool settings. */
export function staticCluster(
  name: string,
  ports: readonly number[],
  proto: ProtoMessage = {},
  http: Partial<ClusterHttpSettings> = {},
): ClusterData & { http: ClusterHttpSettings } {
  const settings = clusterData({ name, type: 'STATIC', ...proto });
  return {
    ...settings,
    hosts: ports.map((p, i) => hostData(p, i)),
    http: {
      idleTimeoutMs: 60 * 60 * 1000,
      maxRequestsPerConnection: 0,
      maxConnectionDurationMs: 0,
      http1: http1Settings({ maxHeadersKb: MAX_RESPONSE_HEADERS_KB }),
      ...http,
    },
  };
}

/** A port nobody listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface RawUpstream {
  readonly port: number;
  readonly sockets: Set<net.Socket>;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/**
 * A raw TCP upstream; `onRequest(socket, request, index)` runs for each request head it
 * reads on a connection (`index`: 0 for the connection's first request).
 */
export async function rawUpstream(
  onRequest: (socket: net.Socket, head: string, index: number, body: Buffer) => void,
): Promise<RawUpstream> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: false }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffered.subarray(0, end).toString('latin1');
        const m = /content-length:\s*(\d+)/i.exec(head);
        const length = m === null ? 0 : Number(m[1]);
        if (buffered.length < end + 4 + length) return;
        const body = buffered.subarray(end + 4, end + 4 + length);
        buffered = buffered.subarray(end + 4 + length);
        onRequest(socket, head, index++, body);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sockets,
    accepted: () => accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface HttpUpstream {
  readonly server: http.Server;
  readonly port: number;
  readonly sockets: Set<net.Socket>;
  close(): Promise<void>;
}

/** A node:http upstream (keep-alive) running `handler`. */
export async function httpUpstream(handler: http.RequestListener): Promise<HttpUpstream> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer({ keepAliveTimeout: 60_000 }, handler);
  server.on('connection', (s: net.Socket) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sockets,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Records what the pool and the stream tell a router. */
export class RecordingStream implements UpstreamStreamDecoder, ConnectionPoolCallbacks {
  encoder: RequestEncoder | null = null;
  info: UpstreamConnectionInfo | null = null;
  failure: { reason: PoolFailureReason; transport: string } | null = null;
  reset: { reason: StreamResetReason; retrySafe: boolean } | null = null;
  status = '';
  headers: HeaderMap | null = null;
  readonly chunks: Buffer[] = [];
  ended = false;
  readonly done: Promise<void>;
  readonly ready: Promise<void>;
  private resolveDone!: () => void;
  private resolveReady!: () => void;

  constructor() {
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
    this.ready = new Promise((r) => {
      this.resolveReady = r;
    });
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  onPoolFailure(reason: PoolFailureReason, transport: string, _host: Host): void {
    this.failure = { reason, transport };
    this.resolveReady();
    this.resolveDone();
  }

  onPoolReady(encoder: RequestEncoder, _host: Host, info: UpstreamConnectionInfo): void {
    this.encoder = encoder;
    this.info = info;
    this.resolveReady();
  }

  decode1xxHeaders(_headers: HeaderMap): void {}

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.headers = headers;
    this.status = headers.get(':status') ?? '';
    if (endStream) this.finish();
  }

  decodeData(data: Buffer, endStream: boolean): void {
    if (data.length > 0) this.chunks.push(Buffer.from(data));
    if (endStream) this.finish();
  }

  decodeTrailers(_trailers: HeaderMap): void {
    this.finish();
  }

  onUpstreamReset(reason: StreamResetReason, _transport: string, retrySafe: boolean): void {
    this.reset = { reason, retrySafe };
    this.resolveDone();
  }

  onUpstreamAboveWriteBufferHighWatermark(): void {}
  onUpstreamBelowWriteBufferLowWatermark(): void {}

  private finish(): void {
    this.ended = true;
    this.resolveDone();
  }
}

/** A GET (or any method) request's headers. */
export function requestHeaders(
  path: string,
  method = 'GET',
  extra: Array<[string, string]> = [],
): HeaderMapImpl {
  return HeaderMapImpl.of([[':method', method], [':path', path], [':authority', 'upstream'], ...extra]);
}

/** A complete HTTP/1.1 response with a body and content-length. */
export function response(status: number, body: string, extra = ''): string {
  return `HTTP/1.1 ${status} X\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}
