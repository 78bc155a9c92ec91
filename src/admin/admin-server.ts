/**
 * The admin server: Envoy's admin endpoints over HTTP on `admin.address`.
 *
 * Main thread (node:http; the admin is never on the data path). Each endpoint family lives
 * in its own file under `handlers/` and registers here with its path, help text and
 * whether it mutates state: mutating endpoints answer only POST (405 otherwise, as current
 * Envoy does). Envoy counterpart: `Server::AdminImpl`.
 */
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

export function text(body: string, status = 200): AdminResponse {
  return { status, contentType: 'text/plain; charset=UTF-8', body };
}

export function json(value: unknown, status = 200): AdminResponse {
  return { status, contentType: 'application/json', body: `${JSON.stringify(value, null, 2)}\n` };
}

export class AdminServer {
  private readonly handlers = new Map<string, AdminHandler>();
  private server: http.Server | undefined;

  addHandler(handler: AdminHandler): void {
    if (this.handlers.has(handler.path)) throw new Error(`bug: admin path ${handler.path} registered twice`);
    this.handlers.set(handler.path, handler);
  }

  /** Listens on a TCP address or a Unix socket path; resolves with the bound address. */
  listen(address: { host: string; port: number } | { pipe: string }): Promise<string> {
    const server = http.createServer((req, res) => this.onRequest(req, res));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'string' ? a : `${(a as AddressInfo).address}:${(a as AddressInfo).port}`);
      };
      if ('pipe' in address) server.listen(address.pipe, done);
      else server.listen({ host: address.host, port: address.port, exclusive: true }, done);
    });
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  /** The registered handlers, by path. */
  handlerList(): readonly AdminHandler[] {
    return [...this.handlers.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://admin');
    void this.respond(req, url).then(
      (response) => this.send(req, res, response),
      (err: unknown) => this.send(req, res, text(`${(err as Error).message ?? String(err)}\n`, 500)),
    );
  }

  private async respond(req: http.IncomingMessage, url: URL): Promise<AdminResponse> {
    const handler = this.handlers.get(url.pathname);
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
    res.end(req.method === 'HEAD' ? undefined : response.body);
  }

  helpText(): string {
    return this.handlerList()
      .map((h) => `  ${h.path}: ${h.help}`)
      .join('\n')
      .concat('\n');
  }
}
