/**
 * The DNS resolver of the DNS clusters: one A or AAAA query at a time, with the answer's
 * TTL, over c-ares (`node:dns` `Resolver`) or, with `use_tcp_for_dns_lookups`, over TCP
 * (`dns-tcp.ts`); and the resolver settings read from a cluster or the bootstrap.
 *
 * Main thread. A resolver owns its c-ares channel or its TCP queries; `close()` cancels
 * what is in flight. Name servers come from `typed_dns_resolver_config`
 * (`envoy.network.dns_resolver.cares`), the deprecated `dns_resolution_config`, the
 * deprecated cluster field `dns_resolvers`, or the system's (/etc/resolv.conf), in Envoy's
 * order of precedence. Like Envoy's, a name with no records (NXDOMAIN, NODATA) is an answer
 * with no addresses, not a failure. Differences from Envoy's c-ares resolver: queries are
 * never expanded with the resolv.conf search domains (Node queries the name as given, as
 * `no_default_search_domain` does), and `udp_max_queries` has no effect.
 * Envoy counterpart: source/extensions/network/dns_resolver/cares/dns_impl.cc
 * (`DnsResolverImpl`) and source/common/network/dns_resolver/dns_factory_util.h
 * (`makeDnsResolverConfig`, `handleLegacyDnsResolverData`).
 */
import { type RecordWithTtl, Resolver } from 'node:dns';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  boolField,
  messageField,
  messageList,
  messageTypeOf,
  numberField,
  stringField,
} from '../../config/proto-fields.ts';
import type { ProtoMessage } from '../../config/types.ts';
import type { Dispatcher } from '../../event/types.ts';
import { DnsQueryError, NO_RECORDS } from './dns-message.ts';
import { TcpDnsResolver } from './dns-tcp.ts';
import type {
  AddressFamily,
  DnsAnswer,
  DnsResolver,
  DnsResolverSettings,
  DnsServerAddress,
} from './types.ts';

export { DnsQueryError, NO_RECORDS } from './dns-message.ts';

/** The system's name servers, over UDP (TCP when an answer is truncated). */
export const SYSTEM_DNS_RESOLVER: DnsResolverSettings = {
  servers: [],
  useTcp: false,
  useResolversAsFallback: false,
  filterUnroutableFamilies: false,
};

export const CARES_RESOLVER_NAME = 'envoy.network.dns_resolver.cares';
export const CARES_RESOLVER_TYPE = 'envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig';

const DNS_PORT = 53;

/** `resolvers` as name servers: IP socket addresses; port 0 or unset means 53. */
function serversOf(addresses: readonly ProtoMessage[], field: string): DnsServerAddress[] | string {
  const out: DnsServerAddress[] = [];
  for (const [i, a] of addresses.entries()) {
    const sa = messageField(a, 'socket_address');
    const address = stringField(sa, 'address');
    if (sa === undefined || isIP(address) === 0) {
      const shown = sa === undefined ? Object.keys(a).join(', ') : address;
      return `DNS resolver '${shown}' at ${field}[${i}] is not an IP address`;
    }
    const port = numberField(sa, 'port_value', 0);
    out.push({ address, port: port === 0 ? DNS_PORT : port });
  }
  return out;
}

/** A decoded `CaresDnsResolverConfig`, or why its resolvers are unusable. */
export function caresResolverSettings(config: ProtoMessage): DnsResolverSettings | string {
  const servers = serversOf(messageList(config, 'resolvers'), 'resolvers');
  if (typeof servers === 'string') return servers;
  return {
    servers,
    useTcp: boolField(messageField(config, 'dns_resolver_options'), 'use_tcp_for_dns_lookups'),
    useResolversAsFallback: boolField(config, 'use_resolvers_as_fallback'),
    filterUnroutableFamilies: boolField(config, 'filter_unroutable_families'),
  };
}

/** `typed_dns_resolver_config`; undefined when absent or untyped (Envoy then reads the legacy fields). */
function typedResolverSettings(owner: ProtoMessage): DnsResolverSettings | string | undefined {
  const typed = messageField(owner, 'typed_dns_resolver_config');
  const config = messageField(typed, 'typed_config');
  if (config === undefined) return undefined;
  const type = messageTypeOf(config);
  if (type !== CARES_RESOLVER_TYPE) {
    const name = stringField(typed, 'name');
    return `not supported by Legate: DNS resolver ${name === '' ? type : name}; only ${CARES_RESOLVER_NAME} is`;
  }
  return caresResolverSettings(config);
}

/** The deprecated `dns_resolution_config`: resolvers and options without the c-ares extras. */
function resolutionConfigSettings(rc: ProtoMessage): DnsResolverSettings | string {
  const servers = serversOf(messageList(rc, 'resolvers'), 'dns_resolution_config.resolvers');
  if (typeof servers === 'string') return servers;
  return {
    ...SYSTEM_DNS_RESOLVER,
    servers,
    useTcp: boolField(messageField(rc, 'dns_resolver_options'), 'use_tcp_for_dns_lookups'),
  };
}

/**
 * A cluster's own resolver settings, or undefined when it uses the server's resolver: as
 * Envoy's `selectDnsResolver`, a cluster gets its own only with a typed
 * `typed_dns_resolver_config`, a `dns_resolution_config` with resolvers, or `dns_resolvers`.
 */
export function clusterDnsResolverSettings(cluster: ProtoMessage): DnsResolverSettings | string | undefined {
  const typed = typedResolverSettings(cluster);
  if (typed !== undefined) return typed;
  const rc = messageField(cluster, 'dns_resolution_config');
  if (rc !== undefined && messageList(rc, 'resolvers').length > 0) return resolutionConfigSettings(rc);
  const legacy = messageList(cluster, 'dns_resolvers');
  if (legacy.length === 0) return undefined;
  const servers = serversOf(legacy, 'dns_resolvers');
  if (typeof servers === 'string') return servers;
  return { ...SYSTEM_DNS_RESOLVER, servers, useTcp: boolField(cluster, 'use_tcp_for_dns_lookups') };
}

/** The server's resolver settings, from the bootstrap (the system's when it configures none). */
export function serverDnsResolverSettings(bootstrap: ProtoMessage): DnsResolverSettings | string {
  const typed = typedResolverSettings(bootstrap);
  if (typed !== undefined) return typed;
  const rc = messageField(bootstrap, 'dns_resolution_config');
  if (rc !== undefined) return resolutionConfigSettings(rc);
  return { ...SYSTEM_DNS_RESOLVER, useTcp: boolField(bootstrap, 'use_tcp_for_dns_lookups') };
}

/** Query tuning; c-ares' defaults when unset. */
export interface DnsResolverOptions {
  /** Time a query waits for one name server before trying the next. */
  readonly timeoutMs?: number;
  /** Rounds over the name servers before a query fails. */
  readonly tries?: number;
}

/** c-ares' defaults, for the TCP resolver (the c-ares one leaves them to c-ares and Node). */
const DEFAULT_TIMEOUT_MS = 2000;
const DEFAULT_TRIES = 3;

/** The system's name servers as c-ares reads them (/etc/resolv.conf). */
function systemServers(): DnsServerAddress[] {
  return new Resolver().getServers().map((s) => {
    if (isIP(s) !== 0) return { address: s, port: DNS_PORT };
    const m = /^\[(.+)\]:(\d+)$/.exec(s) ?? /^(.+):(\d+)$/.exec(s);
    return m === null ? { address: s, port: DNS_PORT } : { address: m[1]!, port: Number(m[2]) };
  });
}

/** The configured servers, unless they are only a fallback and the system has real ones (empty: the system's). */
function serversToUse(settings: DnsResolverSettings): readonly DnsServerAddress[] {
  if (settings.servers.length === 0 || !settings.useResolversAsFallback) return settings.servers;
  // c-ares falls back to 127.0.0.1 when resolv.conf names no server: Envoy's "only the default".
  const system = new Resolver().getServers();
  const onlyDefault = system.length === 0 || (system.length === 1 && system[0] === '127.0.0.1');
  return onlyDefault ? settings.servers : [];
}

function formatServer(s: DnsServerAddress): string {
  return isIP(s.address) === 6 ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** True when some non-loopback interface has an address of `family` (Envoy's `availableInterfaces`). */
function familyRoutable(family: AddressFamily): boolean {
  const want = family === 4 ? 'IPv4' : 'IPv6';
  return Object.values(networkInterfaces()).some((list) =>
    (list ?? []).some((i) => !i.internal && i.family === want),
  );
}

/** c-ares over UDP (and TCP for truncated answers), through `node:dns`. */
class CaresDnsResolver implements DnsResolver {
  private readonly resolver: Resolver;
  private closed = false;

  constructor(servers: readonly DnsServerAddress[], options: DnsResolverOptions) {
    this.resolver = new Resolver({
      timeout: options.timeoutMs ?? -1,
      ...(options.tries === undefined ? {} : { tries: options.tries }),
    });
    if (servers.length > 0) this.resolver.setServers(servers.map(formatServer));
  }

  resolve(name: string, family: AddressFamily): Promise<DnsAnswer> {
    if (this.closed)
      return Promise.reject(new DnsQueryError('ECANCELLED', `${name}: the resolver is closed`));
    return new Promise((resolve, reject) => {
      const done = (err: NodeJS.ErrnoException | null, records: RecordWithTtl[]): void => {
        if (err === null) {
          resolve(answerOf(records));
          return;
        }
        const code = err.code ?? 'EUNKNOWN';
        if (code === 'ENODATA' || code === 'ENOTFOUND') resolve(NO_RECORDS);
        else reject(new DnsQueryError(code, `${name} (${family === 4 ? 'A' : 'AAAA'}): ${code}`));
      };
      if (family === 4) this.resolver.resolve4(name, { ttl: true }, done);
      else this.resolver.resolve6(name, { ttl: true }, done);
    });
  }

  close(): void {
    this.closed = true;
    this.resolver.cancel();
  }
}

function answerOf(records: readonly RecordWithTtl[]): DnsAnswer {
  if (records.length === 0) return NO_RECORDS;
  let ttlS = Number.POSITIVE_INFINITY;
  for (const r of records) ttlS = Math.min(ttlS, r.ttl);
  return { addresses: records.map((r) => r.address), ttlS };
}

/** Answers nothing for a family no interface can reach, as `filter_unroutable_families` asks. */
class FamilyFilter implements DnsResolver {
  private readonly inner: DnsResolver;

  constructor(inner: DnsResolver) {
    this.inner = inner;
  }

  resolve(name: string, family: AddressFamily): Promise<DnsAnswer> {
    return familyRoutable(family) ? this.inner.resolve(name, family) : Promise.resolve(NO_RECORDS);
  }

  close(): void {
    this.inner.close();
  }
}

/** A resolver for `settings`; TCP queries time out on `dispatcher`'s timers. */
export function createDnsResolver(
  settings: DnsResolverSettings,
  dispatcher: Dispatcher,
  options: DnsResolverOptions = {},
): DnsResolver {
  const servers = serversToUse(settings);
  const resolver = settings.useTcp
    ? new TcpDnsResolver(
        dispatcher,
        servers.length > 0 ? servers : systemServers(),
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        options.tries ?? DEFAULT_TRIES,
      )
    : new CaresDnsResolver(servers, options);
  return settings.filterUnroutableFamilies ? new FamilyFilter(resolver) : resolver;
}
