/**
 * A small stand-in for the connection manager around one router filter: it records what the
 * filter sends downstream (local replies, response headers, body, trailers, resets), plays
 * the downstream's flow control (stops feeding the request body while the router asks, and
 * can report itself slow to read), and feeds requests to a filter made by `routerRuntime`
 * over a real worker (real Dispatcher, real ThreadLocalClusterManager, real sockets).
 */
import { createHash } from 'node:crypto';
import type { AccessLogInstance, AccessLogManager } from '../../../src/access-log/types.ts';
import type { ProtoMessage } from '../../../src/config/types.ts';
import type { RouterConfig } from '../../../src/extensions/filters/http/router/config.ts';
import { routerRuntime } from '../../../src/extensions/filters/http/router/filter.ts';
import type {
  DownstreamWatermarkCallbacks,
  FilterChainFactoryCallbacks,
  HttpFilterFactoryCb,
  LocalReply,
  StreamDecoderFilter,
  StreamDecoderFilterCallbacks,
  StreamEncoderFilter,
  StreamRoute,
} from '../../../src/http/filter-types.ts';
import { HeaderMapImpl } from '../../../src/http/header-map.ts';
import type { HeaderMap, StreamResetReason } from '../../../src/http/types.ts';
import { compileRouteTable, type RouteTable } from '../../../src/router/config.ts';
import { StreamInfo } from '../../../src/stream-info/stream-info.ts';
import type { ClusterData } from '../../../src/upstream/types.ts';
import { TestWorker, waitFor, within } from '../../http/conn-pool/helpers.ts';

export const DEFAULT_ROUTER_CONFIG: RouterConfig = {
  dynamicStats: true,
  startChildSpan: false,
  suppressEnvoyHeaders: false,
  strictCheckHeaders: [],
  respectExpectedRqTimeout: false,
  suppressGrpcRequestFailureCodeStats: false,
  upstreamLogs: [],
  upstreamLogFlushIntervalMs: 0,
  flushUpstreamLogOnUpstreamStream: false,
  upstreamHttpFilters: [],
};

const NO_ACCESS_LOGS: AccessLogManager = {
  create(): AccessLogInstance {
    throw new Error('no access logs in router tests');
  },
};

/** One stream's downstream side, as the connection manager would present it to the router. */
export class FakeStream implements StreamDecoderFilterCallbacks {
  readonly dispatcher: TestWorker['dispatcher'];
  readonly streamInfo: StreamInfo;
  readonly streamId = 1;
  routeValue: StreamRoute | undefined;
  internalRequest = false;
  bufferLimit = 1024 * 1024;
  readonly downstreamRemoteAddress = '10.0.0.1';
  readonly downstreamLocalAddress = '10.0.0.2';
  readonly downstreamLocalPort = 10000;

  localReply: (LocalReply & { headers: HeaderMapImpl }) | null = null;
  responseHeaders: HeaderMap | null = null;
  readonly chunks: Buffer[] = [];
  trailers: HeaderMap | null = null;
  reset: { reason: StreamResetReason; details: string } | null = null;
  ended = false;
  /** The router's requests to stop reading the downstream, not yet lifted. */
  readDisabled = 0;
  /** The most the router asked at once. */
  maxReadDisabled = 0;
  readonly watermarkCallbacks: DownstreamWatermarkCallbacks[] = [];
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readEnabledWaiters: Array<() => void> = [];
  /** Called with each response body chunk (to play a slow downstream). */
  onResponseData: ((data: Buffer) => void) | null = null;

  constructor(dispatcher: TestWorker['dispatcher']) {
    this.dispatcher = dispatcher;
    this.streamInfo = new StreamInfo(dispatcher.systemTime(), dispatcher.updateApproximateMonotonicTime());
    this.streamInfo.downstreamRemoteAddress = this.downstreamRemoteAddress;
    this.streamInfo.downstreamRemotePort = 5000;
    this.streamInfo.downstreamLocalAddress = this.downstreamLocalAddress;
    this.streamInfo.downstreamLocalPort = this.downstreamLocalPort;
    this.done = new Promise((r) => {
      this.resolveDone = r;
    });
  }

  get status(): number {
    if (this.localReply !== null) return this.localReply.status;
    return Number(this.responseHeaders?.get(':status') ?? '0');
  }

  get body(): string {
    if (this.localReply !== null) return this.localReply.body.toString();
    return Buffer.concat(this.chunks).toString('latin1');
  }

  bodyBytes(): Buffer {
    return Buffer.concat(this.chunks);
  }

  header(name: string): string | undefined {
    return (this.localReply?.headers ?? this.responseHeaders)?.get(name);
  }

  flags(): string {
    return this.streamInfo.responseFlagsShort();
  }

  /** Resolves once the router lets the downstream be read again. */
  readEnabled(): Promise<void> {
    if (this.readDisabled === 0) return Promise.resolve();
    return new Promise((r) => this.readEnabledWaiters.push(r));
  }

  // --- StreamDecoderFilterCallbacks

  route(): StreamRoute | undefined {
    return this.routeValue;
  }

  clearRouteCache(): void {}

  resetStream(reason: StreamResetReason, details: string): void {
    this.reset = { reason, details };
    this.resolveDone();
  }

  continueDecoding(): void {}

  sendLocalReply(reply: LocalReply): void {
    const headers = HeaderMapImpl.of([[':status', String(reply.status)]]);
    reply.modifyHeaders?.(headers);
    this.localReply = { ...reply, headers };
    this.streamInfo.responseCode = reply.status;
    this.streamInfo.responseCodeDetails = reply.details;
    this.resolveDone();
  }

  encodeHeaders(headers: HeaderMap, endStream: boolean, _details: string): void {
    this.responseHeaders = headers;
    if (endStream) this.end();
  }

  encodeData(data: Buffer, endStream: boolean): void {
    if (data.length > 0) this.chunks.push(Buffer.from(data));
    if (data.length > 0) this.onResponseData?.(data);
    if (endStream) this.end();
  }

  encodeTrailers(trailers: HeaderMap): void {
    this.trailers = trailers;
    this.end();
  }

  encode1xxHeaders(_headers: HeaderMap): void {}

  decodingBuffer(): Buffer | undefined {
    return undefined;
  }

  /** The router keeps its own retry buffer; it never hands body to the connection manager. */
  addDecodedData(_data: Buffer, _streaming: boolean): void {
    throw new Error('the router does not buffer through the connection manager');
  }

  onDecoderFilterAboveWriteBufferHighWatermark(): void {
    this.readDisabled++;
    this.maxReadDisabled = Math.max(this.maxReadDisabled, this.readDisabled);
  }

  onDecoderFilterBelowWriteBufferLowWatermark(): void {
    this.readDisabled--;
    if (this.readDisabled === 0) {
      const waiters = this.readEnabledWaiters;
      this.readEnabledWaiters = [];
      for (const w of waiters) w();
    }
  }

  addDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void {
    this.watermarkCallbacks.push(cb);
  }

  removeDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void {
    const i = this.watermarkCallbacks.indexOf(cb);
    if (i >= 0) this.watermarkCallbacks.splice(i, 1);
  }

  decoderBufferLimit(): number {
    return this.bufferLimit;
  }

  private end(): void {
    this.ended = true;
    this.resolveDone();
  }
}

export interface RequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly authority?: string;
  readonly headers?: Array<[string, string]>;
  /** The body, sent in these chunks (each waits for the router to allow reading). */
  readonly body?: Buffer[];
  readonly trailers?: Array<[string, string]>;
  readonly internal?: boolean;
  readonly bufferLimit?: number;
  /** Runs on the stream before the request is fed (e.g. to play a slow downstream). */
  readonly prepare?: (stream: FakeStream) => void;
}

/** A router over a route table and clusters on a real worker. */
export class RouterHarness {
  readonly worker: TestWorker;
  readonly table: RouteTable;
  private readonly factory: HttpFilterFactoryCb;

  constructor(
    routeConfig: ProtoMessage,
    clusters: readonly ClusterData[],
    router: Partial<RouterConfig> = {},
    worker = new TestWorker(() => 0),
  ) {
    this.worker = worker;
    worker.cm.update(clusters);
    this.table = compileRouteTable(routeConfig);
    this.factory = routerRuntime.createFilterFactory(
      { ...DEFAULT_ROUTER_CONFIG, ...router },
      {
        dispatcher: worker.dispatcher,
        scope: worker.stats,
        workerIndex: 0,
        statPrefix: 'ingress',
        clusterManager: worker.cm,
        accessLogs: NO_ACCESS_LOGS,
      },
    );
  }

  /** A new router filter for one stream, with its downstream stand-in. */
  newStream(options: RequestOptions = {}): {
    filter: StreamDecoderFilter;
    stream: FakeStream;
    headers: HeaderMapImpl;
  } {
    let filter: StreamDecoderFilter | undefined;
    const chain: FilterChainFactoryCallbacks = {
      addStreamDecoderFilter: (f) => {
        filter = f;
      },
      addStreamEncoderFilter: (_f: StreamEncoderFilter) => {},
      addStreamFilter: (f) => {
        filter = f;
      },
      addAccessLogHandler: () => {},
    };
    this.factory(chain);
    if (filter === undefined) throw new Error('the router factory added no filter');
    const stream = new FakeStream(this.worker.dispatcher);
    stream.internalRequest = options.internal ?? false;
    if (options.bufferLimit !== undefined) stream.bufferLimit = options.bufferLimit;
    const headers = HeaderMapImpl.of([
      [':method', options.method ?? (options.body === undefined ? 'GET' : 'POST')],
      [':scheme', 'http'],
      [':authority', options.authority ?? 'example.com'],
      [':path', options.path ?? '/'],
      ['x-forwarded-proto', 'http'],
      ...(options.headers ?? []),
    ]);
    stream.routeValue = this.table.route(headers);
    filter.setDecoderFilterCallbacks(stream);
    options.prepare?.(stream);
    return { filter, stream, headers };
  }

  /** Runs one request to its end (response, local reply or reset); the stream is then destroyed. */
  async request(options: RequestOptions = {}): Promise<FakeStream> {
    const { filter, stream, headers } = this.newStream(options);
    await this.feed(filter, stream, headers, options);
    await within(stream.done, `the answer to ${options.method ?? ''} ${options.path ?? '/'}`);
    filter.onDestroy();
    return stream;
  }

  /** Sends the request headers, body (respecting the router's flow control) and trailers. */
  async feed(
    filter: StreamDecoderFilter,
    stream: FakeStream,
    headers: HeaderMapImpl,
    options: RequestOptions,
  ): Promise<void> {
    const body = options.body ?? [];
    const trailers = options.trailers;
    const headersOnly = body.length === 0 && trailers === undefined;
    filter.decodeHeaders(headers, headersOnly);
    for (let i = 0; i < body.length; i++) {
      if (stream.localReply !== null || stream.reset !== null) return;
      await within(stream.readEnabled(), 'the router to read the downstream again');
      filter.decodeData(body[i]!, trailers === undefined && i === body.length - 1);
      // Let the loop run between chunks, as reads from a socket would.
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    if (trailers !== undefined) filter.decodeTrailers(HeaderMapImpl.of(trailers));
  }

  counter(name: string): number {
    return this.worker.counter(name);
  }

  close(): void {
    this.worker.close();
  }
}

/** One virtual host `*` routing everything under `/` to `cluster`, with extra route fields. */
export function routeAll(cluster: string, route: ProtoMessage = {}, vhost: ProtoMessage = {}): ProtoMessage {
  return {
    name: 'rc',
    virtual_hosts: [
      {
        name: 'vh',
        domains: ['*'],
        routes: [{ name: 'all', match: { prefix: '/' }, route: { cluster, ...route } }],
        ...vhost,
      },
    ],
  };
}

export function sha256(data: Buffer | Buffer[]): string {
  const h = createHash('sha256');
  for (const b of Array.isArray(data) ? data : [data]) h.update(b);
  return h.digest('hex');
}

export function seconds(ms: number): ProtoMessage {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export { waitFor, within };
