/**
 * One resolution of a name under a `dns_lookup_family`: which queries to send, in which
 * order, and when the result counts as a success. IP literals and `localhost` are answered
 * here without a query.
 *
 * Main thread; never rejects (a failed resolution is a value). Envoy counterpart:
 * `DnsResolverImpl::AddrInfoPendingResolution` (source/extensions/network/dns_resolver/
 * cares/dns_impl.cc): V4_ONLY / V6_ONLY send one query; V4_PREFERRED asks A, then AAAA
 * when A gave no address (or failed); AUTO the same with AAAA first; ALL sends both at
 * once and returns both (A first here; Envoy keeps arrival order). A resolution succeeds
 * when any of its queries was answered, even with no records (NXDOMAIN, NODATA); it fails
 * only when every query it sent failed. c-ares answers IP literals itself and reads
 * `localhost` from /etc/hosts; here those answers carry TTL 0.
 */
import { isIP } from 'node:net';
import { DnsQueryError } from './dns-message.ts';
import type { AddressFamily, DnsAnswer, DnsLookupFamily, DnsResolver } from './types.ts';

export type DnsLookup =
  | {
      readonly ok: true;
      /** Every address, in answer order; empty when the name has none of the families asked. */
      readonly addresses: readonly string[];
      /** The lowest TTL among the records, seconds (0 without records). */
      readonly ttlS: number;
      /** The TTL of the first address's record set, seconds (0 without records). */
      readonly firstTtlS: number;
    }
  | { readonly ok: false; readonly reason: string };

export const DNS_LOOKUP_FAMILIES: readonly DnsLookupFamily[] = [
  'AUTO',
  'V4_ONLY',
  'V6_ONLY',
  'V4_PREFERRED',
  'ALL',
];

type QueryOutcome = { readonly answer: DnsAnswer } | { readonly error: string };

async function query(resolver: DnsResolver, name: string, family: AddressFamily): Promise<QueryOutcome> {
  try {
    return { answer: await resolver.resolve(name, family) };
  } catch (err) {
    if (err instanceof DnsQueryError) return { error: err.message };
    throw err;
  }
}

function success(answers: readonly DnsAnswer[]): DnsLookup {
  const withRecords = answers.filter((a) => a.addresses.length > 0);
  return {
    ok: true,
    addresses: withRecords.flatMap((a) => a.addresses),
    ttlS: withRecords.length === 0 ? 0 : Math.min(...withRecords.map((a) => a.ttlS)),
    firstTtlS: withRecords[0]?.ttlS ?? 0,
  };
}

/** The outcome of the queries sent: a success when any was answered. */
function combine(outcomes: readonly QueryOutcome[]): DnsLookup {
  const answers: DnsAnswer[] = [];
  const errors: string[] = [];
  for (const o of outcomes) {
    if ('answer' in o) answers.push(o.answer);
    else errors.push(o.error);
  }
  return answers.length > 0 ? success(answers) : { ok: false, reason: errors.join('; ') };
}

function wants(family: DnsLookupFamily, f: AddressFamily): boolean {
  return family === 'V4_ONLY' ? f === 4 : family === 'V6_ONLY' ? f === 6 : true;
}

/** The answer for an IP literal or `localhost`, which need no query; undefined for other names. */
function withoutQuery(name: string, family: DnsLookupFamily): DnsLookup | undefined {
  const literal = isIP(name);
  if (literal !== 0) {
    return success([{ addresses: wants(family, literal === 4 ? 4 : 6) ? [name] : [], ttlS: 0 }]);
  }
  const lower = name.toLowerCase();
  if (lower !== 'localhost' && lower !== 'localhost.') return undefined;
  const loopback: Record<DnsLookupFamily, string[]> = {
    V4_ONLY: ['127.0.0.1'],
    V4_PREFERRED: ['127.0.0.1'],
    V6_ONLY: ['::1'],
    AUTO: ['::1'],
    ALL: ['127.0.0.1', '::1'],
  };
  return success([{ addresses: loopback[family], ttlS: 0 }]);
}

/** Resolves `name` as `dns_lookup_family` says. */
export async function lookup(
  resolver: DnsResolver,
  name: string,
  family: DnsLookupFamily,
): Promise<DnsLookup> {
  const direct = withoutQuery(name, family);
  if (direct !== undefined) return direct;
  switch (family) {
    case 'V4_ONLY':
      return combine([await query(resolver, name, 4)]);
    case 'V6_ONLY':
      return combine([await query(resolver, name, 6)]);
    case 'ALL':
      return combine(await Promise.all([query(resolver, name, 4), query(resolver, name, 6)]));
    case 'V4_PREFERRED':
    case 'AUTO': {
      const [first, second]: [AddressFamily, AddressFamily] = family === 'AUTO' ? [6, 4] : [4, 6];
      const preferred = await query(resolver, name, first);
      if ('answer' in preferred && preferred.answer.addresses.length > 0) return combine([preferred]);
      return combine([preferred, await query(resolver, name, second)]);
    }
  }
}
