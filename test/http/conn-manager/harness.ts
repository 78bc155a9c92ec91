/**
 * A connection manager on real sockets for tests: a `net.Server` on 127.0.0.1 whose
 * connections are `ConnectionImpl`s running the HCM runtime on a real Dispatcher, with a set of
 * fake HTTP filters, a capturing access log (Envoy's default format), stats readable through a
 * `StatsStore`, and raw-socket client helpers that parse responses byte-exactly.
 *
 * The HCM config goes through the real config factory (`httpConnectionManagerFactory`) with a
 * stub extension context that resolves the test filters, then through the runtime, so a test
 * exercises the whole path from an Envoy-shaped message to the data path. Every wait is bounded.
 */
import net from 'node:net';
import { compileFormat } from '../../../src/access-log/formatter.ts';
import type { AccessLogInstance, AccessLogManager, FormatterContext } from '../../../src/access-log/types.ts';
import type { ExtensionContext, ProtoMessage, ResolvedExtension } from '../../../src/config/types.ts';
import { DispatcherImpl, realBackend } from '../../../src/event/dispatcher.ts';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../../../src/extensions/access_loggers/common/format.ts';
import {
  type HttpConnectionManagerConfig,
  httpConnectionManagerFactory,
} from '../../../src/extensions/filters/network/http_connection_manager/config.ts';
import {
  buildConnectionManagerConfig,
  createHttpConnectionManagerRuntime,
} from '../../../src/extensions/filters/network/http_connection_manager/filter.ts';
import { ConnectionManagerImpl } from '../../../src/http/conn-manager/conn-manager.ts';
import type { ConnectionManagerConfig } from '../../../src/http/conn-manager/types.ts';
import type {
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  StreamDecoderFilter,
  StreamDecoderFilterCallbacks,
  StreamEncoderFilter,
  StreamEncoderFilterCallbacks,
} from '../../../src/http/filter-types.ts';
import { HeaderMapImpl } from '../../../src/http/header-map.ts';
import type { HeaderMap } from '../../../src/http/types.ts';
import { ConnectionImpl } from '../../../src/network/connection.ts';
import type { FilterFactoryCb } from '../../../src/network/types.ts';
import type { HttpFilterRuntime, NetworkFilterContext } from '../../../src/server/filter-context.ts';
import { StatsStore } from '../../../src/stats/store.ts';
import { ThreadStats } from '../../../src/stats/thread-stats.ts';
import { ThreadLocalClusterManager } from '../../../src/upstream/thread-local-cluster-manager.ts';

export const BOUND_MS = 5000;

/** `p`, or a rejection naming `what` after BOUND_MS (a bound, not a timing assertion). */
export function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), BOUND_MS);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

const EMPTY = Buffer.alloc(0);

// ---------------------------------------------------------------------------------------------
// Test HTTP filters
// ---------------------------------------------------------------------------------------------

/** What the answering filter saw, sent back as its JSON body. */
export interface Echo {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: string;
  route: string;
  internal: boolean;
  remote: string;
}

/**
 * The terminal filter: answers once the request is complete with a JSON echo of what it saw.
 * Request headers steer it: `x-test-status`, `x-test-response-header: k: v` (repeatable),
 * `x-test-response-bytes: n` (a body of n 'a's), `x-test-hold` (never answers),
 * `x-test-hold-body` (sends headers, never the body). An upgrade request gets a 101 (with the
 * Connection and Upgrade headers it saw as `x-seen-*`) and then every byte back in upper case.
 */
class AnswerFilter implements StreamDecoderFilter {
  private cb!: StreamDecoderFilterCallbacks;
  private headers: HeaderMap | null = null;
  private readonly body: Buffer[] = [];
  private upgraded = false;

  setDecoderFilterCallbacks(callbacks: StreamDecoderFilterCallbacks): void {
    this.cb = callbacks;
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): FilterHeadersStatus {
    this.headers = headers;
    if (headers.has('x-test-hold')) return 'StopIteration';
    const upgrade = headers.get('upgrade');
    if (upgrade !== undefined) {
      this.upgraded = true;
      this.cb.encodeHeaders(
        HeaderMapImpl.of([
          [':status', '101'],
          ['connection', 'Upgrade'],
          ['upgrade', upgrade],
          ['x-seen-connection', headers.get('connection') ?? ''],
          ['x-seen-upgrade', upgrade],
        ]),
        false,
        'via_upstream',
      );
      return 'StopIteration';
    }
    if (endStream) this.answer();
    return 'StopIteration';
  }

  decodeData(data: Buffer, endStream: boolean): FilterDataStatus {
    if (this.upgraded) {
      if (data.length > 0)
        this.cb.encodeData(Buffer.from(data.toString('latin1').toUpperCase(), 'latin1'), false);
      if (endStream) this.cb.encodeData(EMPTY, true);
      return 'StopIterationNoBuffer';
    }
    this.body.push(Buffer.from(data));
    if (endStream && this.headers !== null && !this.headers.has('x-test-hold')) this.answer();
    return 'StopIterationNoBuffer';
  }

  decodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    this.answer();
    return 'StopIteration';
  }

  private answer(): void {
    const h = this.headers!;
    const response = HeaderMapImpl.of([[':status', h.get('x-test-status') ?? '200']]);
    for (const line of h.getAll('x-test-response-header')) {
      const colon = line.indexOf(':');
      response.add(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    const bytes = h.get('x-test-response-bytes');
    let body: Buffer;
    if (bytes !== undefined) {
      body = Buffer.alloc(Number(bytes), 'a');
    } else {
      const entries: Array<[string, string]> = [];
      h.forEach((k, v) => {
        entries.push([k, v]);
      });
      const echo: Echo = {
        method: h.get(':method') ?? '',
        path: h.get(':path') ?? '',
        headers: entries,
        body: Buffer.concat(this.body).toString('latin1'),
        route: this.cb.route()?.name ?? '',
        internal: this.cb.internalRequest,
        remote: this.cb.downstreamRemoteAddress,
      };
      body = Buffer.from(JSON.stringify(echo), 'latin1');
      response.set('content-type', 'application/json');
    }
    if (h.has('x-test-hold-body')) {
      this.cb.encodeHeaders(response, false, 'via_upstream');
      return;
    }
    if (!response.has('content-length') && !h.has('x-test-chunked'))
      response.set('content-length', String(body.length));
    this.cb.encodeHeaders(response, false, 'via_upstream');
    if (h.has('x-test-chunked')) {
      // Two frames, to show the encoder side sees the body in pieces.
      const half = body.length >> 1;
      this.cb.encodeData(body.subarray(0, half), false);
      this.cb.encodeData(body.subarray(half), true);
    } else {
      this.cb.encodeData(body, true);
    }
  }

  onDestroy(): void {}
}

/** Appends its tag to the request's `x-order` and the response's `x-encode-order`. */
class TagFilter implements StreamDecoderFilter, StreamEncoderFilter {
  private readonly tag: string;
  destroyed = 0;

  constructor(tag: string) {
    this.tag = tag;
  }

  setDecoderFilterCallbacks(_cb: StreamDecoderFilterCallbacks): void {}
  setEncoderFilterCallbacks(_cb: StreamEncoderFilterCallbacks): void {}

  decodeHeaders(headers: HeaderMap, _endStream: boolean): FilterHeadersStatus {
    headers.add('x-order', this.tag);
    return 'Continue';
  }

  decodeData(_data: Buffer, _endStream: boolean): FilterDataStatus {
    return 'Continue';
  }

  decodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }

  encodeHeaders(headers: HeaderMap, _endStream: boolean): FilterHeadersStatus {
    headers.add('x-encode-order', this.tag);
    return 'Continue';
  }

  encodeData(_data: Buffer, _endStream: boolean): FilterDataStatus {
    return 'Continue';
  }

  encodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }

  onDestroy(): void {
    this.destroyed++;
    destroyCounts.set(this.tag, (destroyCounts.get(this.tag) ?? 0) + 1);
  }
}

/** How many times each tag filter's onDestroy ran (a dual filter must be destroyed once). */
export const destroyCounts = new Map<string, number>();

/**
 * Stops on request headers when the request has `x-test-stop` (StopIteration) or
 * `x-test-stop-all` (StopAllIterationAndBuffer), and continues on the next loop turn.
 */
class StopFilter implements StreamDecoderFilter {
  private cb!: StreamDecoderFilterCallbacks;

  setDecoderFilterCallbacks(callbacks: StreamDecoderFilterCallbacks): void {
    this.cb = callbacks;
  }

  decodeHeaders(headers: HeaderMap, _endStream: boolean): FilterHeadersStatus {
    const all = headers.has('x-test-stop-all');
    if (!all && !headers.has('x-test-stop')) return 'Continue';
    headers.add('x-order', 'stopped');
    this.cb.dispatcher.post(() => this.cb.continueDecoding());
    return all ? 'StopAllIterationAndBuffer' : 'StopIteration';
  }

  decodeData(_data: Buffer, _endStream: boolean): FilterDataStatus {
    return 'Continue';
  }

  decodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }

  onDestroy(): void {}
}

/**
 * Envoy's buffer filter in small: holds the request (or response) until its end, then passes
 * it on in one piece; the request gets `x-test-buffered: <body length>`.
 */
class BufferFilter implements StreamDecoderFilter, StreamEncoderFilter {
  private readonly request: boolean;
  private readonly response: boolean;
  private decoder!: StreamDecoderFilterCallbacks;
  private headers: HeaderMap | null = null;

  constructor(config: ProtoMessage) {
    this.request = config['request'] !== false;
    this.response = config['response'] === true;
  }

  setDecoderFilterCallbacks(cb: StreamDecoderFilterCallbacks): void {
    this.decoder = cb;
  }

  setEncoderFilterCallbacks(_cb: StreamEncoderFilterCallbacks): void {}

  decodeHeaders(headers: HeaderMap, endStream: boolean): FilterHeadersStatus {
    this.headers = headers;
    if (!this.request || endStream) return 'Continue';
    return 'StopIteration';
  }

  decodeData(data: Buffer, endStream: boolean): FilterDataStatus {
    if (!this.request) return 'Continue';
    if (!endStream) return 'StopIterationAndBuffer';
    const buffered = this.decoder.decodingBuffer()?.length ?? 0;
    this.headers?.set('x-test-buffered', String(buffered + data.length));
    return 'Continue';
  }

  decodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }

  encodeHeaders(_headers: HeaderMap, endStream: boolean): FilterHeadersStatus {
    return !this.response || endStream ? 'Continue' : 'StopIteration';
  }

  encodeData(_data: Buffer, endStream: boolean): FilterDataStatus {
    if (!this.response) return 'Continue';
    return endStream ? 'Continue' : 'StopIterationAndBuffer';
  }

  encodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }

  onDestroy(): void {}
}

/** The body of DenyFilter's binary local reply. */
export const DENY_BYTES = Buffer.from([0x00, 0xff, 0x80, 0xc3, 0x28, 0x0a]);

/** Answers 403 `denied` itself when the request has `x-test-deny` (`DENY_BYTES` for `x-test-deny-bytes`). */
class DenyFilter implements StreamDecoderFilter {
  private cb!: StreamDecoderFilterCallbacks;

  setDecoderFilterCallbacks(callbacks: StreamDecoderFilterCallbacks): void {
    this.cb = callbacks;
  }

  decodeHeaders(headers: HeaderMap, _endStream: boolean): FilterHeadersStatus {
    if (headers.has('x-test-deny-bytes')) {
      // A binary body (not valid UTF-8) goes out byte for byte.
      this.cb.sendLocalReply({ status: 403, body: DENY_BYTES, details: 'test_denied' });
      return 'StopIteration';
    }
    if (!headers.has('x-test-deny')) return 'Continue';
    this.cb.sendLocalReply({
      status: 403,
      body: 'denied',
      details: 'test_denied',
      modifyHeaders: (h) => h.set('x-denied-by', 'deny'),
    });
    return 'StopIteration';
  }

  decodeData(_data: Buffer, _endStream: boolean): FilterDataStatus {
    return 'Continue';
  }

  decodeTrailers(_trailers: HeaderMap): FilterTrailersStatus {
    return 'Continue';
  }

  onDestroy(): void {}
}

/** A log handler the filter adds per stream (lines go to `filterLogLines`). */
export const filterLogLines: string[] = [];

const runtimes: HttpFilterRuntime[] = [
  {
    name: 'test.answer',
    createFilterFactory: () => (cb) => cb.addStreamDecoderFilter(new AnswerFilter()),
  },
  {
    name: 'test.tag',
    createFilterFactory: (config) => {
      const c = config as ProtoMessage;
      const tag = String(c['tag']);
      const log = c['log'] === true;
      return (cb) => {
        cb.addStreamFilter(new TagFilter(tag));
        if (log) cb.addAccessLogHandler(defaultFormatLog(filterLogLines));
      };
    },
  },
  { name: 'test.stop', createFilterFactory: () => (cb) => cb.addStreamDecoderFilter(new StopFilter()) },
  {
    name: 'test.buffer',
    createFilterFactory: (config) => (cb) => cb.addStreamFilter(new BufferFilter(config as ProtoMessage)),
  },
  { name: 'test.deny', createFilterFactory: () => (cb) => cb.addStreamDecoderFilter(new DenyFilter()) },
];

const TERMINAL = new Set(['test.answer']);

/** An HTTP filter entry of the HCM message. */
export function filter(type: string, config: ProtoMessage = {}, extra: ProtoMessage = {}): ProtoMessage {
  return { name: type.slice(5), typed_config: { '@type': type, ...config }, ...extra };
}

/** A log instance writing Envoy's default format into `lines`. */
function defaultFormatLog(lines: string[]): AccessLogInstance {
  const compiled = compileFormat(DEFAULT_ACCESS_LOG_FORMAT);
  if (!compiled.ok) throw new Error('bug: the default access log format does not compile');
  const formatter = compiled.formatter;
  return { log: (ctx: FormatterContext) => lines.push(formatter.format(ctx)) };
}

/** Stands in for the config loader: resolves the test filters and the capture logger. */
function stubContext(errors: string[]): ExtensionContext {
  return {
    step: undefined,
    error: (_step, message) => errors.push(message),
    unsupported: (_step, message) => errors.push(message),
    warn: () => {},
    requireCluster: () => {},
    extensionOf: (owner): ResolvedExtension | undefined => {
      const typed = owner['typed_config'] as ProtoMessage | undefined;
      const type = String(typed?.['@type'] ?? '');
      if (type === '') return undefined;
      return {
        name: type,
        category: 'test',
        typeUrl: type,
        factory: {
          name: type,
          category: 'test',
          configTypes: [],
          terminal: TERMINAL.has(type),
          createConfig: () => typed,
        },
        config: typed,
        perRoute: false,
      };
    },
  };
}

/** One route `/` to cluster `c`, named `default`. */
export const DEFAULT_ROUTES: ProtoMessage = {
  name: 'local',
  virtual_hosts: [
    {
      name: 'vh',
      domains: ['*'],
      routes: [{ name: 'default', match: { prefix: '/' }, route: { cluster: 'c' } }],
    },
  ],
};

/** Milliseconds as a decoded google.protobuf.Duration. */
export function ms(n: number): ProtoMessage {
  return { seconds: Math.floor(n / 1000), nanos: (n % 1000) * 1_000_000 };
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

export interface ServerOptions {
  /** Fields of the HttpConnectionManager message (proto names, decoded form). */
  readonly hcm?: ProtoMessage;
  /** Overrides applied to the resolved ConnectionManagerConfig (limits, local address...). */
  readonly overrides?: Partial<ConnectionManagerConfig>;
}

export interface TestServer {
  readonly port: number;
  readonly dispatcher: DispatcherImpl;
  /** Access log lines (default format), one per finished stream. */
  readonly logs: string[];
  /** Set true to make the drain decision say "draining". */
  draining: boolean;
  /** `http.test.<name>` counter (0 when never created). */
  counter(name: string): number;
  gauge(name: string): number;
  /** Samples recorded into `http.test.<name>`. */
  histogramCount(name: string): number;
  close(): Promise<void>;
}

let serverCount = 0;

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const index = serverCount++;
  const dispatcher = new DispatcherImpl(`worker_${index}`, realBackend());
  const store = new StatsStore();
  const stats = new ThreadStats((u) => store.attach(`worker_${index}`, u), { immediate: true });
  const logs: string[] = [];
  const accessLogs: AccessLogManager = { create: () => defaultFormatLog(logs) };
  const state = { draining: false };
  const context: NetworkFilterContext = {
    dispatcher,
    scope: stats,
    workerIndex: 0,
    clusterManager: new ThreadLocalClusterManager(dispatcher, stats),
    accessLogs,
    draining: () => state.draining,
  };
  const message: ProtoMessage = {
    stat_prefix: 'test',
    route_config: DEFAULT_ROUTES,
    http_filters: [filter('test.answer')],
    access_log: [{ name: 'capture', typed_config: { '@type': 'test.capture' } }],
    ...options.hcm,
  };
  const errors: string[] = [];
  const internal = httpConnectionManagerFactory.createConfig(message, stubContext(errors));
  if (errors.length > 0) throw new Error(`HCM config: ${errors.join('; ')}`);
  let factory: FilterFactoryCb;
  if (options.overrides === undefined) {
    factory = createHttpConnectionManagerRuntime(runtimes).createFilterFactory(internal, context);
  } else {
    const config: ConnectionManagerConfig = {
      ...buildConnectionManagerConfig(
        internal as HttpConnectionManagerConfig,
        context,
        new Map(runtimes.map((r) => [r.name, r])),
      ),
      ...options.overrides,
    };
    factory = (fm) => fm.addFilter(new ConnectionManagerImpl(config));
  }

  const sockets = new Set<net.Socket>();
  let nextId = 1;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    dispatcher.run(() => {
      const connection = new ConnectionImpl(nextId++, socket, dispatcher);
      factory(connection);
      connection.initializeReadFilters();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    dispatcher,
    logs,
    get draining() {
      return state.draining;
    },
    set draining(v: boolean) {
      state.draining = v;
    },
    counter: (name) => store.counterValue(`http.test.${name}`) ?? 0,
    gauge: (name) => store.gaugeValue(`http.test.${name}`) ?? 0,
    histogramCount: (name) =>
      store.histograms().find((h) => h.name === `http.test.${name}`)?.cumulative.count ?? 0,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      dispatcher.exit();
    },
  };
}

/** Waits until `check()` holds, polling each loop turn (bounded). */
export async function eventually(check: () => boolean, what: string): Promise<void> {
  await within(
    (async () => {
      while (!check()) await new Promise((r) => setImmediate(r));
    })(),
    what,
  );
}

// ---------------------------------------------------------------------------------------------
// Raw client
// ---------------------------------------------------------------------------------------------

export interface RawResponse {
  status: number;
  /** Lower-case names; repeated headers keep every value. */
  headers: Map<string, string[]>;
  /** The head as received (status line and header lines). */
  head: string;
  body: string;
  /** A chunked body's trailers (lower-case). */
  trailers: Map<string, string[]>;
  header(name: string): string | undefined;
}

/** A raw TCP client that collects what the server sends and parses it as HTTP/1 responses. */
export class RawClient {
  readonly socket: net.Socket;
  private data = '';
  closed = false;
  private readonly waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      this.data += chunk;
      this.wake();
    });
    socket.on('end', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await within(new Promise<void>((resolve) => socket.once('connect', () => resolve())), 'connect');
    return new RawClient(socket);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(check: () => boolean, what: string): Promise<void> {
    await within(
      (async () => {
        while (!check()) await new Promise<void>((r) => this.waiters.push(r));
      })(),
      what,
    );
  }

  write(text: string | Buffer): void {
    this.socket.write(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);
  }

  /** Everything received so far. */
  get received(): string {
    return this.data;
  }

  /** Waits for `count` final responses (1xx ones are returned too, before their final one). */
  async responses(count: number, options: { head?: boolean } = {}): Promise<RawResponse[]> {
    let parsed: RawResponse[] = [];
    await this.until(() => {
      parsed = parseResponses(this.data, this.closed, options.head === true);
      return parsed.filter((r) => r.status >= 200 || r.status === 101).length >= count || this.closed;
    }, `${count} responses`);
    return parsed;
  }

  async response(options: { head?: boolean } = {}): Promise<RawResponse> {
    const all = await this.responses(1, options);
    const last = all.find((r) => r.status >= 200 || r.status === 101);
    if (last === undefined) throw new Error(`no response; received ${JSON.stringify(this.data)}`);
    return last;
  }

  async waitClosed(): Promise<void> {
    await this.until(() => this.closed, 'the server to close the connection');
  }

  /** Waits until `text` has been received. */
  async waitFor(text: string): Promise<void> {
    await this.until(() => this.data.includes(text) || this.closed, `'${text}'`);
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function headerLines(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split('\r\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    const key = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const list = map.get(key);
    if (list === undefined) map.set(key, [value]);
    else list.push(value);
  }
  return map;
}

/** Every complete response in `data` (a close-delimited body is complete once `closed`). */
export function parseResponses(data: string, closed: boolean, head: boolean): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const headText = data.slice(at, end);
    const firstLine = headText.slice(
      0,
      headText.indexOf('\r\n') < 0 ? headText.length : headText.indexOf('\r\n'),
    );
    const status = Number(firstLine.split(' ')[1]);
    const headers = headerLines(headText.slice(firstLine.length));
    let pos = end + 4;
    let body = '';
    const trailers = new Map<string, string[]>();
    const make = (): RawResponse => ({
      status,
      headers,
      head: headText,
      body,
      trailers,
      header: (name: string) => headers.get(name)?.join(', '),
    });
    if (status < 200 || status === 204 || status === 304 || head) {
      out.push(make());
      at = pos;
      if (status === 101) break; // the rest is a raw pipe
      continue;
    }
    const length = headers.get('content-length')?.[0];
    if (length !== undefined) {
      const n = Number(length);
      if (data.length - pos < n) break;
      body = data.slice(pos, pos + n);
      pos += n;
    } else if (headers.get('transfer-encoding')?.[0] === 'chunked') {
      let complete = false;
      let p = pos;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', p);
        if (lineEnd < 0) break;
        const size = Number.parseInt(data.slice(p, lineEnd), 16);
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd);
          const blank = data.startsWith('\r\n', lineEnd + 2);
          if (blank) {
            p = lineEnd + 4;
            complete = true;
          } else if (trailerEnd >= 0) {
            for (const [k, v] of headerLines(data.slice(lineEnd + 2, trailerEnd))) trailers.set(k, v);
            p = trailerEnd + 4;
            complete = true;
          }
          break;
        }
        if (data.length < lineEnd + 2 + size + 2) break;
        body += data.slice(lineEnd + 2, lineEnd + 2 + size);
        p = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      pos = p;
    } else {
      if (!closed) break;
      body = data.slice(pos);
      pos = data.length;
    }
    out.push(make());
    at = pos;
  }
  return out;
}

/** A GET request's bytes. */
export function get(
  path: string,
  headers: Record<string, string | string[]> = {},
  host = 'example.com',
): string {
  let out = `GET ${path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [k, v] of Object.entries(headers)) {
    for (const value of Array.isArray(v) ? v : [v]) out += `${k}: ${value}\r\n`;
  }
  return `${out}\r\n`;
}

/** One request on a new connection: the parsed response and the echo in its body (when JSON). */
export async function fetchOnce(
  port: number,
  request: string,
): Promise<{ response: RawResponse; echo: Echo | undefined; client: RawClient }> {
  const client = await RawClient.connect(port);
  client.write(request);
  const response = await client.response();
  let echo: Echo | undefined;
  if (response.header('content-type') === 'application/json') echo = JSON.parse(response.body) as Echo;
  client.destroy();
  return { response, echo, client };
}

/** The first value of `name` in an echo's request headers. */
export function echoHeader(echo: Echo | undefined, name: string): string | undefined {
  return echo?.headers.find(([k]) => k === name)?.[1];
}

export function echoHeaders(echo: Echo | undefined, name: string): string[] {
  return (echo?.headers ?? []).filter(([k]) => k === name).map(([, v]) => v);
}
