/**
 * Node's own HTTP/1 server (llhttp, strict mode) as an oracle: raw bytes go to a real
 * `http.createServer` on 127.0.0.1 and the verdict says whether every request in them reached
 * a handler or the parser rejected something.
 *
 * Test thread only; one connection at a time, each wait bounded. Node's own limits are lifted
 * (header size, header count) so the verdict is llhttp's parsing, not Node's limits; Node's
 * `requireHostHeader` stays on (it is part of what Node accepts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

export interface OracleVerdict {
  /** Requests (including CONNECT / Upgrade) that reached a handler. */
  handled: number;
  /** The body each handled request carried (Latin-1), in order. */
  bodies: string[];
  /** The llhttp error code when the parser rejected the input (HPE_*), or null. */
  error: string | null;
}

const BOUND_MS = 5000;

export class LlhttpOracle {
  private server: http.Server | null = null;
  private port = 0;
  private handled = 0;
  private bodies: string[] = [];
  private error: string | null = null;

  async start(): Promise<void> {
    const server = http.createServer({
      insecureHTTPParser: false,
      maxHeaderSize: 1024 * 1024,
      requireHostHeader: true,
    });
    server.maxHeadersCount = 0;
    const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      this.handled++;
      const chunks: Buffer[] = [];
      const bodies = this.bodies;
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('latin1'));
        res.end();
      });
    };
    server.on('request', handle);
    // An unknown Expect is Node's server policy (417), not llhttp's parsing: a request too.
    server.on('checkExpectation', handle);
    server.on('connect', (_req, socket) => {
      this.handled++;
      socket.destroy();
    });
    server.on('upgrade', (_req, socket) => {
      this.handled++;
      socket.destroy();
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      this.error ??= err.code ?? 'error';
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Sends `raw`, half-closes, and waits for the server to close the connection. */
  async judge(raw: string): Promise<OracleVerdict> {
    this.handled = 0;
    this.bodies = [];
    this.error = null;
    const socket = net.connect(this.port, '127.0.0.1');
    socket.on('data', () => {});
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('llhttp oracle: no close within bound')), BOUND_MS);
      socket.on('error', () => {});
      socket.on('close', () => resolve());
      socket.on('connect', () => socket.end(Buffer.from(raw, 'latin1')));
    });
    clearTimeout(timer);
    // The server's last events for this connection run before the client sees the close;
    // one more turn lets a pending 'end' handler finish.
    await new Promise<void>((resolve) => setImmediate(resolve));
    return { handled: this.handled, bodies: this.bodies, error: this.error };
  }
}
