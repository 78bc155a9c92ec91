/**
 * Test helpers for the route table: a minimal `HeaderMap` that implements the contract of
 * `src/http/types.ts` on its own (so these tests do not depend on the codec's map), request
 * builders, and a compile helper that fails the test on any problem.
 */
import assert from 'node:assert/strict';
import type { FormatterContext } from '../../src/access-log/types.ts';
import type { ProtoMessage } from '../../src/config/types.ts';
import type { HeaderMap } from '../../src/http/types.ts';
import { compileRouteTable, type RouteTable, validateRouteConfig } from '../../src/router/config.ts';
import { formatRouteConfigProblem } from '../../src/router/problems.ts';
import { StreamInfo } from '../../src/stream-info/stream-info.ts';

/** Ordered (key, value) pairs with lower-case keys; `get` returns the first value. */
export class TestHeaderMap implements HeaderMap {
  readonly pairs: Array<[string, string]> = [];

  static of(pairs: ReadonlyArray<readonly [string, string]>): TestHeaderMap {
    const map = new TestHeaderMap();
    for (const [k, v] of pairs) map.add(k, v);
    return map;
  }

  get size(): number {
    return this.pairs.length;
  }

  get(key: string): string | undefined {
    const k = key.toLowerCase();
    return this.pairs.find((p) => p[0] === k)?.[1];
  }

  getAll(key: string): string[] {
    const k = key.toLowerCase();
    return this.pairs.filter((p) => p[0] === k).map((p) => p[1]);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  add(key: string, value: string): void {
    this.pairs.push([key.toLowerCase(), value]);
  }

  set(key: string, value: string): void {
    const k = key.toLowerCase();
    const i = this.pairs.findIndex((p) => p[0] === k);
    if (i < 0) {
      this.pairs.push([k, value]);
      return;
    }
    this.pairs[i] = [k, value];
    for (let j = this.pairs.length - 1; j > i; j--) if (this.pairs[j]![0] === k) this.pairs.splice(j, 1);
  }

  remove(key: string): void {
    const k = key.toLowerCase();
    for (let j = this.pairs.length - 1; j >= 0; j--) if (this.pairs[j]![0] === k) this.pairs.splice(j, 1);
  }

  forEach(fn: (key: string, value: string) => void): void {
    for (const [k, v] of this.pairs) fn(k, v);
  }

  byteSize(): number {
    return this.pairs.reduce((n, [k, v]) => n + k.length + v.length, 0);
  }
}

/** A GET request over plain HTTP as the connection manager hands it to routing. */
export function request(
  authority: string,
  path: string,
  extra: ReadonlyArray<readonly [string, string]> = [],
): TestHeaderMap {
  return TestHeaderMap.of([
    [':method', 'GET'],
    [':scheme', 'http'],
    [':authority', authority],
    [':path', path],
    ['x-forwarded-proto', 'http'],
    ...extra,
  ]);
}

/** Compiles, failing the test with every problem listed when there is one (warnings included). */
export function table(config: ProtoMessage): RouteTable {
  const problems = validateRouteConfig(config);
  assert.deepEqual(problems.map(formatRouteConfigProblem), []);
  return compileRouteTable(config);
}

/** One virtual host `*` holding `routes`. */
export function oneHost(routes: ProtoMessage[], vhost: ProtoMessage = {}): ProtoMessage {
  return { name: 'rc', virtual_hosts: [{ name: 'vh', domains: ['*'], routes, ...vhost }] };
}

/** A route to `cluster` matching `match`. */
export function routeTo(cluster: string, match: ProtoMessage, extra: ProtoMessage = {}): ProtoMessage {
  return { name: cluster, match, route: { cluster }, ...extra };
}

/** The cluster name of the route a request gets, or undefined for no route. */
export function clusterFor(t: RouteTable, headers: HeaderMap, random = 0): string | undefined {
  const route = t.route(headers, random);
  if (route === undefined) return undefined;
  assert.equal(route.action.kind, 'route');
  return route.action.kind === 'route' ? route.action.selectCluster(headers, random).name : undefined;
}

/** A formatter context for a stream from 10.0.0.1:5000 to 10.0.0.2:10000 over HTTP/1.1. */
export function formatterContext(requestHeaders?: HeaderMap, responseHeaders?: HeaderMap): FormatterContext {
  const si = new StreamInfo(Date.UTC(2026, 0, 2, 3, 4, 5, 678), 0);
  si.downstreamRemoteAddress = '10.0.0.1';
  si.downstreamRemotePort = 5000;
  si.downstreamLocalAddress = '10.0.0.2';
  si.downstreamLocalPort = 10000;
  si.protocol = 'HTTP/1.1';
  const ctx: { -readonly [K in keyof FormatterContext]: FormatterContext[K] } = { streamInfo: si };
  if (requestHeaders !== undefined) ctx.requestHeaders = requestHeaders;
  if (responseHeaders !== undefined) ctx.responseHeaders = responseHeaders;
  return ctx;
}

export function seconds(s: number, nanos = 0): ProtoMessage {
  return { seconds: s, nanos };
}
