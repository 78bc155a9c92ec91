/**
 * Test peers for cluster discovery: a real DNS server on 127.0.0.1 (dns2, UDP and TCP on
 * one port) whose answers each test sets and changes, a scripted in-memory resolver for
 * simulated time, cluster configs decoded by the real config decoder, and a bounded poll.
 */
import assert from 'node:assert/strict';
import type { AddressInfo, Socket } from 'node:net';
import type { TestContext } from 'node:test';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import dns2 from 'dns2';
import { IssueSink } from '../../../src/config/errors.ts';
import { ProtoJsonDecoder } from '../../../src/config/proto-json.ts';
import { protoSchema } from '../../../src/config/proto-schema.ts';
import type { ProtoMessage } from '../../../src/config/types.ts';
import type { Dispatcher } from '../../../src/event/types.ts';
import { DnsQueryError, NO_RECORDS } from '../../../src/upstream/discovery/dns-message.ts';
import { createClusterDiscovery } from '../../../src/upstream/discovery/factory.ts';
import { createDnsResolver } from '../../../src/upstream/discovery/resolver.ts';
import type { AddressFamily, DnsAnswer, DnsResolver } from '../../../src/upstream/discovery/types.ts';
import type { ClusterDiscovery, HostData } from '../../../src/upstream/types.ts';

const { Packet } = dns2;

/** Decodes a cluster as the config loader does, failing the test on any error (warnings pass). */
export function decodeCluster(json: Record<string, unknown>): ProtoMessage {
  const sink = new IssueSink();
  const value = new ProtoJsonDecoder(protoSchema(), sink).decode('envoy.config.cluster.v3.Cluster', json);
  assert.deepEqual(sink.errors, [], 'the test cluster decodes without errors');
  assert.ok(value !== undefined);
  return value;
}

/** Polls `check` every 20 ms, failing after about `timeoutMs`. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (let i = 0; i * 20 < timeoutMs; i++) {
    if (check()) return;
    await sleep(20);
  }
  assert.fail(`not within ${timeoutMs} ms: ${what}`);
}

/** Lets promise continuations and pending I/O callbacks run. */
export function flush(): Promise<void> {
  return nextTurn();
}

/** `typed_dns_resolver_config` for c-ares with the test server at 127.0.0.1:`port` as its only resolver. */
export function caresConfig(port: number, options: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'envoy.network.dns_resolver.cares',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig',
      resolvers: [{ socket_address: { address: '127.0.0.1', port_value: port } }],
      ...options,
    },
  };
}

export interface StartedDiscovery {
  readonly discovery: ClusterDiscovery;
  /** Host sets passed to the hosts-changed callback. */
  readonly changes: Array<readonly HostData[]>;
  /** `address` of every current host. */
  addresses(): string[];
}

/**
 * Builds a cluster's discovery with resolvers that give up on a server after 200 ms and one
 * try, initializes it, and waits (bounded) until it is initialized; destroyed after the test.
 */
export async function startDiscovery(
  t: TestContext,
  dispatcher: Dispatcher,
  cluster: Record<string, unknown>,
): Promise<StartedDiscovery> {
  const discovery = createClusterDiscovery(decodeCluster(cluster), {
    dispatcher,
    createResolver: (settings) => createDnsResolver(settings, dispatcher, { timeoutMs: 200, tries: 1 }),
  });
  assert.ok(typeof discovery !== 'string', String(discovery));
  t.after(() => discovery.destroy());
  const changes: Array<readonly HostData[]> = [];
  discovery.setHostsChangedCallback((hosts) => changes.push(hosts));
  let initialized = false;
  discovery.initialize(() => {
    initialized = true;
  });
  await eventually(() => initialized, 'initialization');
  return { discovery, changes, addresses: () => discovery.hosts().map((h) => h.address) };
}

type Rcode = 'SERVFAIL' | 'REFUSED' | 'NXDOMAIN';

type Behaviour =
  | {
      readonly kind: 'answer';
      readonly a: readonly string[];
      readonly aaaa: readonly string[];
      readonly ttl: number;
    }
  | { readonly kind: 'rcode'; readonly rcode: Rcode }
  | { readonly kind: 'silent' };

export interface Query {
  readonly name: string;
  readonly type: 'A' | 'AAAA' | 'other';
  readonly transport: 'udp' | 'tcp';
}

/** A DNS server on 127.0.0.1 whose answers the test controls; unknown names get NXDOMAIN. */
export class TestDnsServer {
  readonly queries: Query[] = [];
  private readonly names = new Map<string, Behaviour>();
  private readonly udp: ReturnType<typeof dns2.createUDPServer>;
  private readonly tcp: ReturnType<typeof dns2.createTCPServer>;
  /** Open TCP connections: a silenced query would hold one until dns2's 10 s idle timeout. */
  private readonly connections = new Set<Socket>();
  port = 0;

  private constructor() {
    this.udp = dns2.createUDPServer((req, send) => this.handle(req, send, 'udp'));
    this.tcp = dns2.createTCPServer((req, send) => this.handle(req, send, 'tcp'));
    this.tcp.on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.on('close', () => this.connections.delete(socket));
    });
  }

  /**
   * Binds UDP on a free port, then TCP on the same one. The TCP port may already be taken by
   * another socket on the machine: then both are closed and a new port is tried.
   */
  static async start(): Promise<TestDnsServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      const s = new TestDnsServer();
      await s.udp.listen(0, '127.0.0.1');
      s.port = (s.udp.address() as AddressInfo).port;
      try {
        await new Promise<void>((resolve, reject) => {
          s.tcp.once('error', reject);
          s.tcp.listen(s.port, '127.0.0.1', () => resolve());
        });
        return s;
      } catch (err) {
        lastError = err;
        await new Promise<void>((resolve) => s.udp.close(() => resolve()));
      }
    }
    throw lastError;
  }

  /** `name` answers these A and AAAA records, all with `ttl` seconds. */
  answer(name: string, records: { a?: readonly string[]; aaaa?: readonly string[]; ttl?: number }): void {
    this.names.set(name, {
      kind: 'answer',
      a: records.a ?? [],
      aaaa: records.aaaa ?? [],
      ttl: records.ttl ?? 60,
    });
  }

  /** `name` gets this response code and no records. */
  fail(name: string, rcode: Rcode = 'SERVFAIL'): void {
    this.names.set(name, { kind: 'rcode', rcode });
  }

  /** Queries for `name` get no response at all. */
  silence(name: string): void {
    this.names.set(name, { kind: 'silent' });
  }

  /** Queries so far for `name` (of `type`, when given). */
  count(name: string, type?: 'A' | 'AAAA'): number {
    return this.queries.filter((q) => q.name === name && (type === undefined || q.type === type)).length;
  }

  async close(): Promise<void> {
    for (const socket of this.connections) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  private handle(
    req: InstanceType<typeof Packet>,
    send: (res: InstanceType<typeof Packet>) => Promise<Buffer>,
    transport: 'udp' | 'tcp',
  ): void {
    const q = req.questions[0];
    if (q === undefined) return;
    const type = q.type === Packet.TYPE.A ? 'A' : q.type === Packet.TYPE.AAAA ? 'AAAA' : 'other';
    this.queries.push({ name: q.name, type, transport });
    const b = this.names.get(q.name.toLowerCase());
    if (b?.kind === 'silent') return;
    const res = Packet.createResponseFromRequest(req);
    if (b === undefined) {
      res.header.rcode = Packet.RCODE.NXDOMAIN;
    } else if (b.kind === 'rcode') {
      res.header.rcode = Packet.RCODE[b.rcode];
    } else {
      const addresses = type === 'A' ? b.a : type === 'AAAA' ? b.aaaa : [];
      for (const address of addresses) {
        res.answers.push(Packet.createResourceFromQuestion(q, { ttl: b.ttl, address }));
      }
    }
    void send(res).catch(() => {});
  }
}

/** One scripted reply of the in-memory resolver. */
export type Scripted = DnsAnswer | DnsQueryError;

/**
 * An in-memory resolver: `reply` sets what a name answers per family (an answer or an
 * error); unscripted queries get no records. Answers are immediate (a resolved promise).
 */
export class ScriptedResolver implements DnsResolver {
  readonly calls: Array<{ name: string; family: AddressFamily; at: number }> = [];
  closed = false;
  private readonly replies = new Map<string, Scripted | 'hold'>();
  private readonly held = new Map<string, Array<(r: Scripted) => void>>();
  private readonly now: () => number;

  /** `now` stamps each call (the simulated clock). */
  constructor(now: () => number = () => 0) {
    this.now = now;
  }

  reply(name: string, family: AddressFamily, reply: Scripted): void {
    this.replies.set(`${name}/${family}`, reply);
  }

  answer(name: string, family: AddressFamily, addresses: readonly string[], ttlS = 60): void {
    this.reply(name, family, { addresses, ttlS });
  }

  fail(name: string, family: AddressFamily, code = 'ESERVFAIL'): void {
    this.reply(name, family, new DnsQueryError(code, `${name}: ${code}`));
  }

  /** Queries for `name` of `family` wait until `release`. */
  hold(name: string, family: AddressFamily): void {
    this.replies.set(`${name}/${family}`, 'hold');
  }

  /** Answers the held queries for `name` of `family` with `reply`, and later ones too. */
  release(name: string, family: AddressFamily, reply: Scripted): void {
    const key = `${name}/${family}`;
    this.replies.set(key, reply);
    for (const settle of this.held.get(key) ?? []) settle(reply);
    this.held.delete(key);
  }

  resolve(name: string, family: AddressFamily): Promise<DnsAnswer> {
    this.calls.push({ name, family, at: this.now() });
    const key = `${name}/${family}`;
    const r = this.replies.get(key) ?? NO_RECORDS;
    if (r === 'hold') {
      return new Promise((resolve, reject) => {
        const waiting = this.held.get(key) ?? [];
        waiting.push((reply) => (reply instanceof DnsQueryError ? reject(reply) : resolve(reply)));
        this.held.set(key, waiting);
      });
    }
    return r instanceof DnsQueryError ? Promise.reject(r) : Promise.resolve(r);
  }

  close(): void {
    this.closed = true;
  }

  /** Times (ms) at which `name` was queried. */
  times(name: string): number[] {
    return this.calls.filter((c) => c.name === name).map((c) => c.at);
  }
}
