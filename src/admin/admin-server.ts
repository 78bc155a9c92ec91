/**
 * The admin server: Envoy's admin endpoints over HTTP on `admin.address`.
 *
 * Main thread (node:http; the admin is never on the data path). Each endpoint family lives
 * in its own file under `handlers/` and registers here with its path, help text and
 * whether it mutates state: mutating endpoints answer only POST (405 otherwise, as current
 * Envoy does). It listens on a TCP address or a Unix socket (`pipe`, `@name` for Linux's
 * abstract namespace, a stale socket file replaced as Envoy does); each request finished
 * goes to the access log hook (`admin.access_log`). `readOnlyView` gives a second server
 * that serves only some non-mutating paths of this one, through the same handler objects
 * (Legate's `--admin-readonly-address`). Envoy counterpart: `Server::AdminImpl`.
 */
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AdminResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string | Buffer;
  /** Extra response headers (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What a handler sees of the request: Envoy's admin takes its parameters in the query string. */
export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface AdminHandler {
  readonly path: string;
  readonly help: string;
  /** Changes state: POST only. */
  readonly mutates: boolean;
  /** Parameters shown on the `/` index page and in `/help` (Envoy's `ParamDescriptor`s). */
  readonly params?: readonly AdminParam[];
  handle(query: URLSearchParams, request: AdminRequest): AdminResponse | Promise<AdminResponse>;
}

export interface AdminParam {
  readonly name: string;
  readonly help: string;
  /** `enum` lists its choices; `boolean` is a bare flag (`?usedonly`). */
  readonly type: 'string' | 'boolean' | 'enum';
  readonly choices?: readonly string[];
}

/** One finished admin request, for the admin's access log. */
export interface AdminRequestRecord {
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly url: string;
  /** `HTTP/1.1`, `HTTP/1.0`. */
  readonly protocol: string;
  readonly requestHeaders: Readonly<Record<string, string | string[] | undefined>>;
  readonly status: number;
  readonly responseHeaders: Readonly<Record<string, string | number | string[] | undefined>>;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** Wall-clock ms when the request arrived. */
  readonly startTimeMs: number;
  /** Monotonic ms when the request arrived and when its response was sent. */
  readonly startMonotonicMs: number;
  readonly endMonotonicMs: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

/** The clocks the admin stamps requests with (the main Dispatcher's time source). */
export interface AdminClock {
  monotonicNow(): number;
  systemNow(): number;
}

export type AdminAddress =
  | { readonly host: string; readonly port: number }
  /** A Unix socket: a path, or `@name` in the abstract namespace; `mode` as Envoy's `Pipe.mode`. */
  | { readonly pipe: string; readonly mode?: number };

export function text(body: string, status = 200): AdminResponse {
  return { status, contentType: 'text/plain; charset=UTF-8', body };
}

export function json(value: unknown, status = 200): AdminResponse {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` };
}

/** A proto message's JSON as Envoy's admin prints it (protobuf's pretty printer: one-space indent). */
export function protoJson(value: unknown, status = 200): AdminResponse {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 1)}\n` };
}

export function html(body: string, status = 200): AdminResponse {
  return { status, contentType: 'text/html; charset=UTF-8', body };
}

export interface AdminServerOptions {
  readonly clock?: AdminClock;
}

/** Where a server finds its handlers: its own table, or (a read-only view) its parent's. */
interface HandlerSource {
  get(path: string): AdminHandler | undefined;
  list(): AdminHandler[];
}

/** Largest form body the `/` page's forms may post. */
const MAX_FORM_BYTES = 64 * 1024;

const NO_CLOCK: AdminClock = { monotonicNow: () => 0, systemNow: () => 0 };

export class AdminServer {
  private readonly handlers = new Map<string, AdminHandler>();
  private readonly source: HandlerSource;
  private readonly view: boolean;
  private readonly clock: AdminClock;
  private server: http.Server | undefined;
  private accessLog: ((record: AdminRequestRecord) => void) | undefined;

  constructor(options: AdminServerOptions = {}, source?: HandlerSource) {
    this.clock = options.clock ?? NO_CLOCK;
    this.view = source !== undefined;
    this.source = source ?? {
      get: (path) => this.handlers.get(path),
      list: () => [...this.handlers.values()],
    };
  }

  addHandler(handler: AdminHandler): void {
    if (this.view) throw new Error(`bug: admin path ${handler.path} registered on a read-only view`);
    if (this.handlers.has(handler.path)) throw new Error(`bug: admin path ${handler.path} registered twice`);
    this.handlers.set(handler.path, handler);
  }

  /**
   * A server answering only `paths` of this one, and only those that do not mutate, with
   * this server's handler objects (looked up per request, so later registrations count).
   * Every other path is a 404, as an unknown path is. It shares this server's access log.
   */
  readOnlyView(paths: readonly string[]): AdminServer {
    const allowed = new Set(paths);
    const visible = (h: AdminHandler | undefined): h is AdminHandler => h !== undefined && !h.mutates;
    const view = new AdminServer(
      { clock: this.clock },
      {
        get: (path) => {
          const h = allowed.has(path) ? this.source.get(path) : undefined;
          return visible(h) ? h : undefined;
        },
        list: () => [...allowed].map((p) => this.source.get(p)).filter(visible),
      },
    );
    view.accessLog = (record) => this.accessLog?.(record);
    return view;
  }

  /** Called with every request once its response is sent (the admin's access log). */
  setAccessLog(log: (record: AdminRequestRecord) => void): void {
    this.accessLog = log;
  }

  /** Listens on a TCP address or a Unix socket; resolves with the bound address. */
  listen(address: AdminAddress): Promise<string> {
    const server = http.createServer((req, res) => this.onRequest(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        if ('pipe' in address && address.mode !== undefined && !address.pipe.startsWith('@')) {
          try {
            fs.chmodSync(address.pipe, address.mode);
          } catch (err) {
            reject(err);
            return;
          }
        }
        const a = server.address();
        resolve(
          'pipe' in address
            ? address.pipe
            : typeof a === 'string'
              ? a
              : hostPort((a as AddressInfo).address, (a as AddressInfo).port),
        );
      };
      if ('pipe' in address) {
        const path = address.pipe.startsWith('@') ? `\0${address.pipe.slice(1)}` : address.pipe;
        if (!address.pipe.startsWith('@')) removeStaleSocket(address.pipe);
        server.listen(path, done);
      } else {
        server.listen({ host: address.host, port: address.port, exclusive: true }, done);
      }
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** The handlers this server answers, by path. */
  handlerList(): readonly AdminHandler[] {
    return this.source.list().sort((a, b) => a.path.localeCompare(b.path));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const startTimeMs = this.clock.systemNow();
    const startMonotonicMs = this.clock.monotonicNow();
    const url = new URL(req.url ?? '/', 'http://admin');
    // A form posted from the `/` page carries its parameters in the body.
    const form =
      req.method === 'POST' &&
      String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const chunks: Buffer[] = [];
    let bytesReceived = 0;
    req.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
      if (form && bytesReceived <= MAX_FORM_BYTES) chunks.push(chunk);
    });
    const log = this.accessLog;
    if (log !== undefined) {
      res.once('finish', () => {
        const socket = req.socket;
        log({
          method: req.method ?? 'GET',
          url: req.url ?? '/',
          protocol: `HTTP/${req.httpVersion}`,
          requestHeaders: req.headers,
          status: res.statusCode,
          responseHeaders: res.getHeaders(),
          bytesReceived,
          bytesSent: req.method === 'HEAD' ? 0 : Number(res.getHeader('content-length') ?? 0),
          startTimeMs,
          startMonotonicMs,
          endMonotonicMs: this.clock.monotonicNow(),
          remoteAddress: socket.remoteAddress ?? '',
          remotePort: socket.remotePort ?? 0,
          localAddress: socket.localAddress ?? '',
          localPort: socket.localPort ?? 0,
        });
      });
    }
    const answer = (): void => {
      void this.respond(req, url).then(
        (response) => this.send(req, res, response),
        (err: unknown) => this.send(req, res, text(`${(err as Error).message ?? String(err)}\n`, 500)),
      );
    };
    if (!form) {
      req.resume();
      answer();
      return;
    }
    req.once('end', () => {
      if (bytesReceived > MAX_FORM_BYTES) {
        this.send(req, res, text('request body too large\n', 413));
        return;
      }
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
        url.searchParams.append(k, v);
      }
      answer();
    });
  }

  private async respond(req: http.IncomingMessage, url: URL): Promise<AdminResponse> {
    const handler = this.source.get(url.pathname);
    if (handler === undefined) return text(`invalid path. admin commands are:\n${this.helpText()}`, 404);
    if (handler.mutates && req.method !== 'POST') {
      return { ...text('This endpoint requires a POST request.\n', 405), headers: { allow: 'POST' } };
    }
    const request: AdminRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
    };
    return handler.handle(url.searchParams, request);
  }

  private send(req: http.IncomingMessage, res: http.ServerResponse, response: AdminResponse): void {
    res.statusCode = response.status;
    res.setHeader('content-type', response.contentType);
    res.setHeader('cache-control', 'no-cache, max-age=0');
    res.setHeader('x-content-type-options', 'nosniff');
    for (const [name, value] of Object.entries(response.headers ?? {})) res.setHeader(name, value);
    const body = typeof response.body === 'string' ? Buffer.from(response.body) : response.body;
    res.setHeader('content-length', body.length);
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  helpText(): string {
    return this.handlerList()
      .map((h) => `  ${h.path}: ${h.help}`)
      .join('\n')
      .concat('\n');
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Envoy unlinks what is at a pipe's path before binding; only a socket is removed here. */
function removeStaleSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    // Nothing there: bind creates it.
  }
}
