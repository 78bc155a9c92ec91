/**
 * DNS over TCP, for `use_tcp_for_dns_lookups` (`node:dns` has no switch for c-ares'
 * ARES_FLAG_USEVC): one connection per query, the name servers tried in order, `tries`
 * rounds, each try bounded by a Dispatcher timer.
 *
 * Main thread. Owns the sockets and timers of its queries in flight; `close()` cancels them.
 * A definitive answer (records, NODATA, NXDOMAIN) ends a query; a refused connection, a
 * timeout or an error response code moves on to the next server, as c-ares does, and the
 * last error is the query's. Envoy counterpart: c-ares with ARES_FLAG_USEVC
 * (source/extensions/network/dns_resolver/cares/dns_impl.cc, `defaultAresOptions`).
 * RFC 1035 section 4.2.2, RFC 7766.
 */
import { Buffer } from 'node:buffer';
import { randomInt } from 'node:crypto';
import { createConnection } from 'node:net';
import type { Dispatcher } from '../../event/types.ts';
import { DnsQueryError, decodeResponse, encodeQuery, queryType } from './dns-message.ts';
import type { AddressFamily, DnsAnswer, DnsResolver, DnsServerAddress } from './types.ts';

export class TcpDnsResolver implements DnsResolver {
  private readonly dispatcher: Dispatcher;
  private readonly servers: readonly DnsServerAddress[];
  private readonly timeoutMs: number;
  private readonly tries: number;
  /** Cancels each attempt in flight. */
  private readonly active = new Set<(err: DnsQueryError) => void>();
  private closed = false;

  constructor(
    dispatcher: Dispatcher,
    servers: readonly DnsServerAddress[],
    timeoutMs: number,
    tries: number,
  ) {
    this.dispatcher = dispatcher;
    this.servers = servers;
    this.timeoutMs = timeoutMs;
    this.tries = Math.max(1, tries);
  }

  async resolve(name: string, family: AddressFamily): Promise<DnsAnswer> {
    const qtype = queryType(family);
    let last = new DnsQueryError('ECONNREFUSED', `${name}: no name server to ask`);
    for (let round = 0; round < this.tries; round++) {
      for (const server of this.servers) {
        if (this.closed) throw new DnsQueryError('ECANCELLED', `${name}: the resolver is closed`);
        const id = randomInt(0, 0x10000);
        const query = encodeQuery(id, name, qtype);
        try {
          return await this.attempt(server, query, (msg) => decodeResponse(msg, id, qtype));
        } catch (err) {
          if (!(err instanceof DnsQueryError)) throw err;
          if (err.code === 'ECANCELLED') throw err;
          last = err;
        }
      }
    }
    throw last;
  }

  close(): void {
    this.closed = true;
    for (const cancel of [...this.active]) cancel(new DnsQueryError('ECANCELLED', 'the resolver is closed'));
  }

  /** One query to one server: connect, send the length-prefixed query, read one length-prefixed response. */
  private attempt(
    server: DnsServerAddress,
    query: Buffer,
    decode: (msg: Buffer) => DnsAnswer,
  ): Promise<DnsAnswer> {
    return new Promise((resolve, reject) => {
      const where = `${server.address}:${server.port}`;
      const socket = createConnection({ host: server.address, port: server.port });
      let received: Buffer = Buffer.alloc(0);
      let done = false;
      const finish = (outcome: DnsAnswer | DnsQueryError): void => {
        if (done) return;
        done = true;
        timer.disableTimer();
        this.active.delete(finish);
        socket.destroy();
        if (outcome instanceof DnsQueryError) reject(outcome);
        else resolve(outcome);
      };
      const timer = this.dispatcher.createTimer(() =>
        finish(new DnsQueryError('ETIMEOUT', `no answer from ${where} within ${this.timeoutMs} ms`)),
      );
      timer.enableTimer(this.timeoutMs);
      this.active.add(finish);

      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length, 0);
      socket.on('connect', () => socket.write(Buffer.concat([prefix, query])));
      socket.on('data', (chunk: Buffer) => {
        received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
        if (received.length < 2) return;
        const length = received.readUInt16BE(0);
        if (received.length < 2 + length) return;
        let outcome: DnsAnswer | DnsQueryError;
        try {
          outcome = decode(received.subarray(2, 2 + length));
        } catch (err) {
          if (!(err instanceof DnsQueryError)) throw err;
          outcome = err;
        }
        finish(outcome);
      });
      socket.on('error', (err: NodeJS.ErrnoException) =>
        finish(new DnsQueryError('ECONNREFUSED', `${where}: ${err.code ?? err.message}`)),
      );
      socket.on('close', () =>
        finish(new DnsQueryError('ECONNREFUSED', `${where} closed the connection before answering`)),
      );
    });
  }
}
