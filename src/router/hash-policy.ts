/**
 * A route's `hash_policy`: the 64-bit request hash that the consistent-hashing load
 * balancers (ring hash, maglev) place requests with, computed exactly as Envoy computes it so
 * a key lands on the same host as it would behind Envoy.
 *
 * Worker threads: compiled with the route table, evaluated by the router per request. Each
 * policy hashes its input with xxHash64 (seed 0); a header's values are sorted and hashed as a
 * seed chain; the policies that produce a hash are combined by rotating the running hash left
 * by one bit and XOR-ing the new one; a `terminal` policy that produced a hash ends the list.
 * A cookie policy with a `ttl` whose cookie is absent asks the router to set one
 * (`HashPolicyContext.addCookie`) and hashes the value it returns. xxHash64 needs
 * `await initHashing()` on the thread first (the hashing load balancers need it anyway).
 * Envoy counterpart: `Http::HashPolicyImpl` (source/common/http/hash_policy.cc),
 * `Http::Utility::parseCookieValue` and `makeSetCookieValue`.
 */

import { durationMs } from '../config/durations.ts';
import { boolField, isMessage, messageField, stringField } from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import type { HeaderMap } from '../http/types.ts';
import { xxhash64 } from '../upstream/load-balancer/hash.ts';
import { asciiLower, firstQueryParameter } from './matchers.ts';
import type { ProblemPath, ProblemSink } from './problems.ts';
import { Re2Regex, Re2Substitution } from './regex.ts';

/** What hashing needs from the stream beyond its request headers. */
export interface HashPolicyContext {
  /** The downstream remote IP, without port ('' when not an IP). */
  readonly downstreamRemoteIp: string;
  /**
   * Asks the router to send `Set-Cookie` for a generated cookie (Envoy's
   * `addDownstreamSetCookie`) and returns its value; see `generatedCookieValue` and
   * `makeSetCookieValue`. Without it, an absent cookie with a ttl produces no hash.
   */
  addCookie?(name: string, path: string, ttlSeconds: number, attributes: readonly CookieAttribute[]): string;
}

export interface CookieAttribute {
  readonly name: string;
  readonly value: string;
}

const MASK64 = (1n << 64n) - 1n;

function rotateLeft1(h: bigint): bigint {
  return ((h << 1n) | (h >> 63n)) & MASK64;
}

/** Envoy's `HashUtil::xxHash64(Span<string_view>)`: each value hashed with the previous hash as seed. */
function xxhash64Chain(values: readonly string[]): bigint {
  if (values.length === 0) return xxhash64('');
  let seed = 0n;
  for (const v of values) seed = xxhash64(v, seed);
  return seed;
}

/**
 * The value of cookie `name` in the request's `cookie` headers, '' when absent: pairs split on
 * ';', leading spaces trimmed, surrounding double quotes removed (Envoy's `parseCookieValue`).
 */
export function parseCookieValue(headers: HeaderMap, name: string): string {
  for (const header of headers.getAll('cookie')) {
    let start = 0;
    while (start <= header.length) {
      let end = header.indexOf(';', start);
      if (end < 0) end = header.length;
      let s = start;
      while (s < end && header.charCodeAt(s) === 0x20) s++;
      const eq = header.indexOf('=', s);
      if (eq >= 0 && eq < end && eq - s === name.length && header.startsWith(name, s)) {
        let value = header.slice(eq + 1, end);
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        return value;
      }
      start = end + 1;
    }
  }
  return '';
}

/**
 * A `Set-Cookie` value as Envoy writes it for a generated hash cookie:
 * `name="value"; Max-Age=N; Path=/p; attr=v; HttpOnly`.
 */
export function makeSetCookieValue(
  name: string,
  value: string,
  path: string,
  maxAgeSeconds: number,
  attributes: readonly CookieAttribute[] = [],
): string {
  let out = `${name}="${value}"`;
  if (maxAgeSeconds !== 0) out += `; Max-Age=${maxAgeSeconds}`;
  if (path !== '') out += `; Path=${path}`;
  for (const a of attributes) out += a.value === '' ? `; ${a.name}` : `; ${a.name}=${a.value}`;
  return `${out}; HttpOnly`;
}

/**
 * The value Envoy's router gives a generated cookie: the hex xxHash64 of the downstream
 * connection's remote address then local address (`ip:port` each), so streams of one
 * connection get the same cookie.
 */
export function generatedCookieValue(remoteAddress: string, localAddress: string): string {
  return xxhash64(remoteAddress + localAddress)
    .toString(16)
    .padStart(16, '0');
}

const HEADER = 0;
const COOKIE = 1;
const SOURCE_IP = 2;
const QUERY_PARAMETER = 3;

/** One entry of the list. */
class HashMethod {
  readonly kind: number;
  /** Header name (lower-case), cookie name or query parameter name. */
  readonly name: string;
  readonly terminal: boolean;
  readonly regex: Re2Regex | undefined;
  readonly substitution: Re2Substitution | undefined;
  /** Cookie: ttl in seconds, or -1 when not set. */
  readonly cookieTtlSeconds: number;
  readonly cookiePath: string;
  readonly cookieAttributes: readonly CookieAttribute[];

  constructor(
    kind: number,
    name: string,
    terminal: boolean,
    extra: {
      regex?: Re2Regex;
      substitution?: Re2Substitution;
      cookieTtlSeconds?: number;
      cookiePath?: string;
      cookieAttributes?: readonly CookieAttribute[];
    } = {},
  ) {
    this.kind = kind;
    this.name = name;
    this.terminal = terminal;
    this.regex = extra.regex;
    this.substitution = extra.substitution;
    this.cookieTtlSeconds = extra.cookieTtlSeconds ?? -1;
    this.cookiePath = extra.cookiePath ?? '';
    this.cookieAttributes = extra.cookieAttributes ?? [];
  }

  evaluate(headers: HeaderMap, ctx: HashPolicyContext): bigint | undefined {
    switch (this.kind) {
      case HEADER: {
        const values = headers.getAll(this.name);
        if (values.length === 0) return undefined;
        let input = values;
        if (this.regex !== undefined && this.substitution !== undefined) {
          const regex = this.regex;
          const substitution = this.substitution;
          input = values.map((v) => regex.replaceAll(v, substitution));
        }
        // Sorted so that the order of repeated values does not change the hash.
        if (input.length > 1) input = [...input].sort();
        return xxhash64Chain(input);
      }
      case COOKIE: {
        const value = parseCookieValue(headers, this.name);
        if (value !== '') return xxhash64(value);
        if (this.cookieTtlSeconds < 0 || ctx.addCookie === undefined) return undefined;
        return xxhash64(
          ctx.addCookie(this.name, this.cookiePath, this.cookieTtlSeconds, this.cookieAttributes),
        );
      }
      case SOURCE_IP:
        return ctx.downstreamRemoteIp === '' ? undefined : xxhash64(ctx.downstreamRemoteIp);
      default: {
        const path = headers.get(':path');
        if (path === undefined) return undefined;
        const value = firstQueryParameter(path, this.name);
        return value === undefined ? undefined : xxhash64(value);
      }
    }
  }
}

/** A compiled `hash_policy` list. */
export class HashPolicy {
  private readonly methods: readonly HashMethod[];

  constructor(methods: readonly HashMethod[]) {
    this.methods = methods;
  }

  /** The request's hash, or undefined when no policy produced one (the balancer then picks at random). */
  generateHash(headers: HeaderMap, ctx: HashPolicyContext): bigint | undefined {
    let hash: bigint | undefined;
    const methods = this.methods;
    for (let i = 0; i < methods.length; i++) {
      const method = methods[i]!;
      const h = method.evaluate(headers, ctx);
      if (h !== undefined) hash = hash === undefined ? h : rotateLeft1(hash) ^ h;
      if (method.terminal && hash !== undefined) break;
    }
    return hash;
  }
}

function compileHashMethod(m: ProtoMessage, path: ProblemPath, sink: ProblemSink): HashMethod | undefined {
  const terminal = boolField(m, 'terminal');
  const header = messageField(m, 'header');
  if (header !== undefined) {
    const name = asciiLower(stringField(header, 'header_name'));
    const rewrite = messageField(header, 'regex_rewrite');
    if (rewrite === undefined) return new HashMethod(HEADER, name, terminal);
    const rewritePath = [...path, 'header', 'regex_rewrite'];
    const compiled = compileRegexRewrite(rewrite, rewritePath, sink);
    if (compiled === undefined) return undefined;
    return new HashMethod(HEADER, name, terminal, compiled);
  }
  const cookie = messageField(m, 'cookie');
  if (cookie !== undefined) {
    const ttl = cookie['ttl'];
    const attributes = (Array.isArray(cookie['attributes']) ? cookie['attributes'] : [])
      .filter(isMessage)
      .map((a) => ({ name: stringField(a, 'name'), value: stringField(a, 'value') }));
    return new HashMethod(COOKIE, stringField(cookie, 'name'), terminal, {
      cookieTtlSeconds: ttl === undefined ? -1 : Math.floor(durationMs(ttl, 0) / 1000),
      cookiePath: stringField(cookie, 'path'),
      cookieAttributes: attributes,
    });
  }
  const connection = messageField(m, 'connection_properties');
  if (connection !== undefined) {
    // source_ip: false hashes nothing, as in Envoy.
    return boolField(connection, 'source_ip') ? new HashMethod(SOURCE_IP, '', terminal) : undefined;
  }
  const query = messageField(m, 'query_parameter');
  if (query !== undefined) return new HashMethod(QUERY_PARAMETER, stringField(query, 'name'), terminal);
  if (m['filter_state'] !== undefined) {
    sink.unsupported([...path, 'filter_state'], 'hash_policy.filter_state is not supported by Legate');
    return undefined;
  }
  sink.invalid(path, 'a hash policy needs one of header, cookie, connection_properties or query_parameter');
  return undefined;
}

/** A `RegexMatchAndSubstitute` compiled, or undefined with a problem reported. */
export function compileRegexRewrite(
  m: ProtoMessage,
  path: ProblemPath,
  sink: ProblemSink,
): { regex: Re2Regex; substitution: Re2Substitution } | undefined {
  const pattern = messageField(m, 'pattern') ?? {};
  const regex = Re2Regex.compile(stringField(pattern, 'regex'));
  if (typeof regex === 'string') {
    sink.invalid([...path, 'pattern', 'regex'], regex);
    return undefined;
  }
  const substitution = Re2Substitution.parse(stringField(m, 'substitution'), regex.groupCount);
  if (typeof substitution === 'string') {
    sink.invalid([...path, 'substitution'], substitution);
    return undefined;
  }
  return { regex, substitution };
}

/** The `hash_policy` list of a RouteAction; undefined when empty. */
export function compileHashPolicy(
  list: readonly ProtoMessage[],
  path: ProblemPath,
  sink: ProblemSink,
): HashPolicy | undefined {
  const methods: HashMethod[] = [];
  list.forEach((m, i) => {
    const method = compileHashMethod(m, [...path, i], sink);
    if (method !== undefined) methods.push(method);
  });
  return methods.length === 0 ? undefined : new HashPolicy(methods);
}
