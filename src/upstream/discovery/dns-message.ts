/**
 * The DNS wire format, as much as an A / AAAA query needs: encode the query, decode the
 * response's answer records with their TTLs; and the errors a query ends with.
 *
 * Pure functions, any thread. Used by the TCP resolver (`dns-tcp.ts`); c-ares does its own
 * over UDP. Error codes are c-ares' (`ESERVFAIL`, `EREFUSED`, ...), as `node:dns` reports
 * them. Envoy counterpart: none (c-ares' ares_create_query / ares_addrinfo parsing).
 * RFC 1035 sections 4.1 and 4.2.2.
 */
import { Buffer } from 'node:buffer';
import type { AddressFamily, DnsAnswer } from './types.ts';

/** An answer with no records (NXDOMAIN or NODATA). */
export const NO_RECORDS: DnsAnswer = { addresses: [], ttlS: 0 };

/** A query that got no answer: c-ares' error code (ESERVFAIL, ETIMEOUT, ECONNREFUSED, EREFUSED, ...). */
export class DnsQueryError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'DnsQueryError';
    this.code = code;
  }
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const CLASS_IN = 1;
const HEADER_LENGTH = 12;
/** Recursion desired. */
const FLAG_RD = 0x0100;
const FLAG_QR = 0x8000;

/** Response codes other than NOERROR and NXDOMAIN, by c-ares' names. */
const RCODE_ERRORS: Record<number, string> = {
  1: 'EFORMERR',
  2: 'ESERVFAIL',
  4: 'ENOTIMP',
  5: 'EREFUSED',
};

export function queryType(family: AddressFamily): number {
  return family === 4 ? TYPE_A : TYPE_AAAA;
}

/** A query for `name`'s records of `qtype`, recursion desired; throws EBADNAME for a malformed name. */
export function encodeQuery(id: number, name: string, qtype: number): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = trimmed.split('.').map((l) => Buffer.from(l, 'utf8'));
  let length = HEADER_LENGTH + 1 + 4;
  for (const l of labels) {
    if (l.length === 0 || l.length > 63) throw new DnsQueryError('EBADNAME', `malformed DNS name '${name}'`);
    length += 1 + l.length;
  }
  if (length - HEADER_LENGTH - 4 > 255) throw new DnsQueryError('EBADNAME', `DNS name too long: '${name}'`);
  const out = Buffer.alloc(length);
  out.writeUInt16BE(id, 0);
  out.writeUInt16BE(FLAG_RD, 2);
  out.writeUInt16BE(1, 4); // QDCOUNT
  let at = HEADER_LENGTH;
  for (const l of labels) {
    out[at++] = l.length;
    l.copy(out, at);
    at += l.length;
  }
  out[at++] = 0;
  out.writeUInt16BE(qtype, at);
  out.writeUInt16BE(CLASS_IN, at + 2);
  return out;
}

function badResponse(why: string): DnsQueryError {
  return new DnsQueryError('EBADRESP', `malformed DNS response: ${why}`);
}

/** The offset just past the (possibly compressed) name at `at`. */
function skipName(msg: Buffer, at: number): number {
  let p = at;
  for (;;) {
    if (p >= msg.length) throw badResponse('name runs past the end');
    const len = msg[p]!;
    if ((len & 0xc0) === 0xc0) return p + 2; // a pointer ends the name
    if (len & 0xc0) throw badResponse('unknown label type');
    p += 1 + len;
    if (len === 0) return p;
  }
}

/** IPv6 text as RFC 5952 writes it: lower case, the longest run of two or more zero groups as `::`. */
export function formatIpv6(bytes: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * The records of `qtype` in the answer section of a response to query `id`. NXDOMAIN and a
 * NOERROR without such records are answers with no records; any other response code throws.
 */
export function decodeResponse(msg: Buffer, id: number, qtype: number): DnsAnswer {
  if (msg.length < HEADER_LENGTH) throw badResponse('shorter than a header');
  if (msg.readUInt16BE(0) !== id) throw badResponse('the ID does not match the query');
  const flags = msg.readUInt16BE(2);
  if ((flags & FLAG_QR) === 0) throw badResponse('not a response');
  const rcode = flags & 0x0f;
  if (rcode === 3) return NO_RECORDS; // NXDOMAIN
  if (rcode !== 0) {
    const code = RCODE_ERRORS[rcode] ?? 'EBADRESP';
    throw new DnsQueryError(code, `the name server answered with response code ${rcode} (${code})`);
  }
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  let at = HEADER_LENGTH;
  for (let i = 0; i < qdcount; i++) at = skipName(msg, at) + 4;
  const addresses: string[] = [];
  let ttlS = Number.POSITIVE_INFINITY;
  for (let i = 0; i < ancount; i++) {
    at = skipName(msg, at);
    if (at + 10 > msg.length) throw badResponse('record header runs past the end');
    const type = msg.readUInt16BE(at);
    const cls = msg.readUInt16BE(at + 2);
    const ttl = msg.readUInt32BE(at + 4);
    const rdlength = msg.readUInt16BE(at + 8);
    at += 10;
    if (at + rdlength > msg.length) throw badResponse('record data runs past the end');
    // CNAMEs and other records on the way are skipped: c-ares follows the chain the same way.
    if (cls === CLASS_IN && type === qtype) {
      if (type === TYPE_A && rdlength === 4) {
        addresses.push(`${msg[at]}.${msg[at + 1]}.${msg[at + 2]}.${msg[at + 3]}`);
      } else if (type === TYPE_AAAA && rdlength === 16) {
        addresses.push(formatIpv6(msg.subarray(at, at + 16)));
      } else {
        throw badResponse(`an address record of ${rdlength} bytes`);
      }
      // RFC 2181 section 8: a TTL with the top bit set counts as 0.
      ttlS = Math.min(ttlS, ttl > 0x7fffffff ? 0 : ttl);
    }
    at += rdlength;
  }
  if (addresses.length === 0) return NO_RECORDS;
  return { addresses, ttlS };
}
