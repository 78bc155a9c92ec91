/**
 * The compiled-in extension factories, called directly: each is a pure function of a
 * decoded message and an ExtensionContext, so a fake context that records errors,
 * warnings and cluster references is enough. Proves Envoy's defaults, the load-time
 * checks Envoy's factories make (with the paths they are reported at), and that every
 * internal config survives structuredClone (it is posted to worker threads).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { durationMs } from '../../src/config/durations.ts';
import type { PathStep } from '../../src/config/errors.ts';
import { fieldStep, formatPath, indexStep } from '../../src/config/errors.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import type {
  ExtensionContext,
  ExtensionFactory,
  ProtoMessage,
  ResolvedExtension,
} from '../../src/config/types.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';
import { DEFAULT_ACCESS_LOG_FORMAT } from '../../src/extensions/access_loggers/common/format.ts';
import { fileAccessLogFactory } from '../../src/extensions/access_loggers/file/config.ts';
import { stdoutAccessLogFactory } from '../../src/extensions/access_loggers/stream/config.ts';
import { routerFactory } from '../../src/extensions/filters/http/router/config.ts';
import { httpConnectionManagerFactory } from '../../src/extensions/filters/network/http_connection_manager/config.ts';
import { tcpProxyFactory } from '../../src/extensions/filters/network/tcp_proxy/config.ts';
import { tlsTransportSocketFactory } from '../../src/extensions/transport_sockets/tls/config.ts';
import { httpProtocolOptionsFactory } from '../../src/extensions/upstreams/http/config.ts';

/** Where the filter's typed_config sits in a bootstrap, as the resolver passes it. */
const FILTER_STEP: PathStep = fieldStep(
  indexStep(
    fieldStep(
      indexStep(
        fieldStep(
          indexStep(fieldStep(fieldStep(undefined, 'static_resources'), 'listeners'), 0),
          'filter_chains',
        ),
        0,
      ),
      'filters',
    ),
    0,
  ),
  'typed_config',
);
const FILTER_PATH = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

interface Recorded {
  readonly errors: Array<{ path: string; message: string }>;
  readonly warnings: Array<{ path: string; message: string }>;
  readonly clusters: Array<{ name: string; path: string }>;
}

/** A context whose nested extensions are those in `built` (as the resolver would have built them). */
function fakeContext(
  built = new Map<ProtoMessage, ResolvedExtension>(),
): { ctx: ExtensionContext } & Recorded {
  const rec: Recorded = { errors: [], warnings: [], clusters: [] };
  const ctx: ExtensionContext = {
    step: FILTER_STEP,
    error: (step, message) => rec.errors.push({ path: formatPath(step), message }),
    unsupported: (step, message) => rec.errors.push({ path: formatPath(step), message }),
    warn: (step, message) => rec.warnings.push({ path: formatPath(step), message }),
    extensionOf: (owner) => built.get(owner),
    requireCluster: (name, step) => rec.clusters.push({ name, path: formatPath(step) }),
  };
  return { ctx, ...rec };
}

/** Builds a nested extension the way the resolver does, and records it for `owner`. */
function resolve(
  built: Map<ProtoMessage, ResolvedExtension>,
  owner: ProtoMessage,
  factory: ExtensionFactory,
  config: ProtoMessage = {},
): void {
  const typeUrl = `type.googleapis.com/${factory.configTypes[0]}`;
  const { ctx } = fakeContext();
  const result = factory.createConfig({ '@type': typeUrl, ...config }, ctx);
  built.set(owner, {
    name: factory.name,
    category: factory.category,
    typeUrl,
    factory,
    config: result,
    perRoute: false,
  });
}

/** A non-terminal HTTP filter, standing in for any filter that is not the router. */
const noopHttpFilter: ExtensionFactory<Record<string, never>> = {
  name: 'test.filters.http.noop',
  category: 'envoy.filters.http',
  configTypes: ['test.Noop'],
  createConfig: () => ({}),
};

function httpFilter(name: string, extra: ProtoMessage = {}): ProtoMessage {
  return { name, ...extra };
}

/** An HCM message with the given filters resolved: router ones to the router, others to the no-op. */
function hcmWith(
  filters: ProtoMessage[],
  rest: ProtoMessage = { route_config: { name: 'local', virtual_hosts: [] } },
  unresolved: ReadonlySet<ProtoMessage> = new Set(),
) {
  const built = new Map<ProtoMessage, ResolvedExtension>();
  for (const f of filters) {
    if (unresolved.has(f)) continue;
    resolve(built, f, f['name'] === 'envoy.filters.http.router' ? routerFactory : noopHttpFilter);
  }
  const fake = fakeContext(built);
  const config = httpConnectionManagerFactory.createConfig(
    { stat_prefix: 'ingress_http', http_filters: filters, ...rest },
    fake.ctx,
  );
  return { config, ...fake };
}

/** A route table with a redirect, a plain cluster, weighted clusters and a cluster_header route. */
const ROUTES: ProtoMessage = {
  virtual_hosts: [
    {
      name: 'redirects',
      domains: ['r'],
      routes: [{ match: { prefix: '/' }, redirect: { https_redirect: true } }],
    },
    {
      name: 'main',
      domains: ['*'],
      routes: [
        { match: { prefix: '/a' }, route: { cluster: 'service_a' } },
        {
          match: { prefix: '/' },
          route: {
            weighted_clusters: {
              clusters: [
                { name: 'blue', weight: 1 },
                { cluster_header: 'x-c', weight: 1 },
                { name: 'green', weight: 3 },
              ],
            },
          },
        },
        { match: { prefix: '/h' }, route: { cluster_header: 'x-cluster' } },
      ],
    },
  ],
};

describe('http_connection_manager', () => {
  test("applies Envoy's defaults to a minimal config", () => {
    const { config, errors, warnings } = hcmWith([httpFilter('envoy.filters.http.router')]);
    assert.deepEqual(errors, []);
    assert.deepEqual(warnings, []);
    assert.equal(config.codecType, 'AUTO');
    assert.equal(config.serverName, 'envoy');
    assert.equal(config.serverHeaderTransformation, 'OVERWRITE');
    assert.equal(config.generateRequestId, true);
    assert.equal(config.useRemoteAddress, false);
    assert.equal(config.xffNumTrustedHops, 0);
    assert.equal(config.streamIdleTimeoutMs, 300_000);
    assert.equal(config.requestTimeoutMs, 0);
    assert.equal(config.requestHeadersTimeoutMs, 0);
    assert.equal(config.drainTimeoutMs, 5000);
    assert.equal(config.delayedCloseTimeoutMs, 1000);
    assert.equal(config.idleTimeoutMs, 3_600_000);
    assert.equal(config.maxConnectionDurationMs, 0);
    assert.equal(config.maxHeadersCount, 100);
    assert.equal(config.maxRequestHeadersKb, 60);
    assert.equal(config.headersWithUnderscoresAction, 'ALLOW');
    assert.equal(config.pathWithEscapedSlashesAction, 'KEEP_UNCHANGED');
    assert.equal(config.forwardClientCertDetails, 'SANITIZE');
    assert.equal(config.stripPortMode, 'none');
    assert.equal(config.routeConfig?.validateClusters, true);
    assert.equal(config.rds, undefined);
    assert.deepEqual(
      config.httpFilters.map((f) => [f.name, f.extension, f.disabled, f.isOptional]),
      [['envoy.filters.http.router', 'envoy.filters.http.router', false, false]],
    );
    assert.deepEqual(config.httpFilters[0]?.config, routerFactory.createConfig({}, fakeContext().ctx));
  });

  test('an explicit 0s idle timeout disables it (0), and set values are kept', () => {
    const { config } = hcmWith([httpFilter('envoy.filters.http.router')], {
      route_config: {},
      stream_idle_timeout: { seconds: 0, nanos: 0 },
      common_http_protocol_options: { idle_timeout: { seconds: 0, nanos: 0 }, max_headers_count: 50 },
      server_name: 'legate',
      codec_type: 'HTTP2',
    });
    assert.equal(config.streamIdleTimeoutMs, 0);
    assert.equal(config.idleTimeoutMs, 0);
    assert.equal(config.maxHeadersCount, 50);
    assert.equal(config.serverName, 'legate');
    assert.equal(config.codecType, 'HTTP2');
  });

  test('the router must be the last filter, and a non-terminal filter must not be last', () => {
    const { errors } = hcmWith([httpFilter('envoy.filters.http.router'), httpFilter('my_noop')]);
    assert.deepEqual(errors, [
      {
        path: `${FILTER_PATH}.http_filters[0]`,
        message:
          'terminal filter named envoy.filters.http.router of type envoy.filters.http.router must be the last filter in a http filter chain',
      },
      {
        path: `${FILTER_PATH}.http_filters[1]`,
        message:
          'non-terminal filter named my_noop of type test.filters.http.noop is the last filter in a http filter chain',
      },
    ]);
  });

  test('an optional filter Legate lacks is skipped, but still counts as last (as in Envoy)', () => {
    const optional = httpFilter('envoy.filters.http.unknown', { is_optional: true });
    const { config, errors } = hcmWith(
      [httpFilter('a'), optional, httpFilter('envoy.filters.http.router')],
      undefined,
      new Set([optional]),
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(
      config.httpFilters.map((f) => f.name),
      ['a', 'envoy.filters.http.router'],
    );

    const trailing = httpFilter('envoy.filters.http.unknown', { is_optional: true });
    const after = hcmWith(
      [httpFilter('envoy.filters.http.router'), trailing],
      undefined,
      new Set([trailing]),
    );
    assert.equal(after.errors.length, 1);
    assert.match(after.errors[0]?.message ?? '', /must be the last filter/);
  });

  test('the last filter cannot be disabled by default', () => {
    const { errors } = hcmWith([httpFilter('envoy.filters.http.router', { disabled: true })]);
    assert.deepEqual(errors, [
      {
        path: `${FILTER_PATH}.http_filters[0].disabled`,
        message:
          'the last (terminal) filter (envoy.filters.http.router) in the chain cannot be disabled by default',
      },
    ]);
  });

  test('an empty http_filters list is accepted with a warning, as Envoy accepts it', () => {
    const { config, errors, warnings } = hcmWith([]);
    assert.deepEqual(errors, []);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.path, `${FILTER_PATH}.http_filters`);
    assert.deepEqual(config.httpFilters, []);
  });

  test('upgrade filter chains get the same terminal checks, and upgrade types must be unique', () => {
    const wsFilters = [httpFilter('envoy.filters.http.router'), httpFilter('late')];
    const built = new Map<ProtoMessage, ResolvedExtension>();
    const main = httpFilter('envoy.filters.http.router');
    resolve(built, main, routerFactory);
    resolve(built, wsFilters[0] as ProtoMessage, routerFactory);
    resolve(built, wsFilters[1] as ProtoMessage, noopHttpFilter);
    const { ctx, errors } = fakeContext(built);
    const config = httpConnectionManagerFactory.createConfig(
      {
        stat_prefix: 'x',
        route_config: {},
        http_filters: [main],
        upgrade_configs: [
          { upgrade_type: 'websocket', filters: wsFilters },
          { upgrade_type: 'WebSocket', enabled: false },
        ],
      },
      ctx,
    );
    assert.deepEqual(
      errors.map((e) => e.path),
      [
        `${FILTER_PATH}.upgrade_configs[0].filters[0]`,
        `${FILTER_PATH}.upgrade_configs[0].filters[1]`,
        `${FILTER_PATH}.upgrade_configs[1].upgrade_type`,
      ],
    );
    assert.match(errors[0]?.message ?? '', /last filter in a http upgrade filter chain/);
    assert.equal(errors[2]?.message, "multiple upgrade configs with the same name: 'WebSocket'");
    assert.equal(config.upgradeConfigs[0]?.enabled, true);
    assert.equal(config.upgradeConfigs[1]?.filters, undefined);
  });

  test('duplicate virtual host names, duplicate domains (case-insensitive) and a second * are errors', () => {
    const { errors } = hcmWith([httpFilter('envoy.filters.http.router')], {
      route_config: {
        name: 'local_route',
        virtual_hosts: [
          { name: 'a', domains: ['example.com', '*'] },
          { name: 'b', domains: ['Example.COM', 'other.com'] },
          { name: 'a', domains: ['*', 'third.com'] },
        ],
      },
    });
    const rc = `${FILTER_PATH}.route_config`;
    assert.deepEqual(errors, [
      {
        path: `${rc}.virtual_hosts[1].domains[0]`,
        message:
          'Only unique values for domains are permitted. Duplicate entry of domain example.com in route local_route',
      },
      {
        path: `${rc}.virtual_hosts[2].name`,
        message: "only unique values for virtual host names are permitted; duplicate 'a'",
      },
      {
        path: `${rc}.virtual_hosts[2].domains[0]`,
        message: 'Only a single wildcard domain is permitted in route local_route',
      },
    ]);
  });

  test("an inline route table's clusters are required, each at its own path", () => {
    const { clusters, errors } = hcmWith([httpFilter('envoy.filters.http.router')], { route_config: ROUTES });
    assert.deepEqual(errors, []);
    const vh = `${FILTER_PATH}.route_config.virtual_hosts[1]`;
    assert.deepEqual(clusters, [
      { name: 'service_a', path: `${vh}.routes[0].route.cluster` },
      { name: 'blue', path: `${vh}.routes[1].route.weighted_clusters.clusters[0].name` },
      { name: 'green', path: `${vh}.routes[1].route.weighted_clusters.clusters[2].name` },
    ]);
  });

  test('validate_clusters: false, or routes from RDS, require no cluster', () => {
    const off = hcmWith([httpFilter('envoy.filters.http.router')], {
      route_config: { ...ROUTES, validate_clusters: false },
    });
    assert.deepEqual(off.clusters, []);
    assert.equal(off.config.routeConfig?.validateClusters, false);

    const rds = hcmWith([httpFilter('envoy.filters.http.router')], {
      rds: { route_config_name: 'local_route', config_source: { ads: {} } },
    });
    assert.deepEqual(rds.clusters, []);
    assert.equal(rds.config.routeConfig, undefined);
    assert.deepEqual(rds.config.rds, { routeConfigName: 'local_route', configSource: { ads: {} } });
  });

  test('original IP detection extensions cannot be mixed with use_remote_address or xff_num_trusted_hops', () => {
    const { errors } = hcmWith([httpFilter('envoy.filters.http.router')], {
      route_config: {},
      original_ip_detection_extensions: [{ name: 'x', typed_config: {} }],
      use_remote_address: true,
      xff_num_trusted_hops: 1,
    });
    assert.equal(errors.length, 2);
    assert.ok(errors.every((e) => e.path === `${FILTER_PATH}.original_ip_detection_extensions`));
  });
});

describe('router', () => {
  test("is marked terminal and applies Envoy's defaults", () => {
    const { ctx } = fakeContext();
    assert.equal(routerFactory.terminal, true);
    const config = routerFactory.createConfig({}, ctx);
    assert.equal(config.dynamicStats, true);
    assert.equal(config.startChildSpan, false);
    assert.equal(config.suppressEnvoyHeaders, false);
    assert.deepEqual(config.strictCheckHeaders, []);
    assert.equal(routerFactory.createConfig({ dynamic_stats: false }, ctx).dynamicStats, false);
  });
});

describe('tcp_proxy', () => {
  test("applies Envoy's defaults and checks no cluster at load", () => {
    const log = { name: 'envoy.access_loggers.stdout' };
    const built = new Map<ProtoMessage, ResolvedExtension>();
    resolve(built, log, stdoutAccessLogFactory);
    const { ctx, clusters, errors } = fakeContext(built);
    const config = tcpProxyFactory.createConfig(
      { stat_prefix: 'tcp', cluster: 'backend', access_log: [log] },
      ctx,
    );
    assert.deepEqual(errors, []);
    assert.deepEqual(clusters, []);
    assert.equal(config.cluster, 'backend');
    assert.equal(config.weightedClusters, undefined);
    assert.equal(config.idleTimeoutMs, 3_600_000);
    assert.equal(config.maxConnectAttempts, 1);
    assert.equal(config.maxDownstreamConnectionDurationMs, 0);
    assert.deepEqual(
      config.accessLogs.map((l) => [l.extension, (l.config as { stream: string }).stream]),
      [['envoy.access_loggers.stdout', 'stdout']],
    );
  });

  test('an explicit 0s idle_timeout disables it; weighted clusters are kept with their weights', () => {
    const { ctx } = fakeContext();
    const config = tcpProxyFactory.createConfig(
      {
        stat_prefix: 'tcp',
        weighted_clusters: {
          clusters: [
            { name: 'a', weight: 1 },
            { name: 'b', weight: 9 },
          ],
        },
        idle_timeout: { seconds: 0, nanos: 0 },
        max_connect_attempts: 3,
      },
      ctx,
    );
    assert.equal(config.idleTimeoutMs, 0);
    assert.equal(config.maxConnectAttempts, 3);
    assert.equal(config.cluster, undefined);
    assert.deepEqual(
      config.weightedClusters?.map((c) => [c.name, c.weight]),
      [
        ['a', 1],
        ['b', 9],
      ],
    );
  });
});

describe('tls transport socket', () => {
  const cert = {
    certificate_chain: { filename: '/certs/not-generated-yet.pem' },
    private_key: { inline_string: 'KEY' },
  };

  test('a DownstreamTlsContext builds a server config, with TLS 1.2-1.3 by default and no file read', () => {
    const { ctx, errors } = fakeContext();
    const config = tlsTransportSocketFactory.createConfig(
      {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
        common_tls_context: { tls_certificates: [cert], alpn_protocols: ['h2', 'http/1.1'] },
        require_client_certificate: true,
      },
      ctx,
    );
    assert.deepEqual(errors, []);
    assert.equal(config.side, 'downstream');
    assert.equal(config.side === 'downstream' && config.requireClientCertificate, true);
    assert.deepEqual(config.certificates[0]?.certificateChain, { filename: '/certs/not-generated-yet.pem' });
    assert.deepEqual(config.certificates[0]?.privateKey, { inlineString: 'KEY' });
    assert.deepEqual(config.alpnProtocols, ['h2', 'http/1.1']);
    assert.equal(config.tlsParams.minimumProtocolVersion, 'TLSv1_2');
    assert.equal(config.tlsParams.maximumProtocolVersion, 'TLSv1_3');
  });

  test('an UpstreamTlsContext builds a client config, with TLS 1.2 max by default and its SNI', () => {
    const { ctx, errors } = fakeContext();
    const config = tlsTransportSocketFactory.createConfig(
      {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        sni: 'backend.example.com',
        common_tls_context: { tls_params: { tls_maximum_protocol_version: 'TLSv1_3' } },
      },
      ctx,
    );
    assert.deepEqual(errors, []);
    assert.equal(config.side, 'upstream');
    assert.equal(config.side === 'upstream' && config.sni, 'backend.example.com');
    assert.equal(config.side === 'upstream' && config.maxSessionKeys, 1);
    assert.equal(config.tlsParams.maximumProtocolVersion, 'TLSv1_3');
    const bare = tlsTransportSocketFactory.createConfig(
      { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext' },
      ctx,
    );
    assert.equal(bare.tlsParams.maximumProtocolVersion, 'TLSv1_2');
  });

  test("a server with no certificate, a client with two, and SAN matching without a CA are Envoy's load errors", () => {
    const server = fakeContext();
    tlsTransportSocketFactory.createConfig(
      { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext' },
      server.ctx,
    );
    assert.deepEqual(server.errors, [
      { path: `${FILTER_PATH}.common_tls_context`, message: 'no TLS certificates found for server context' },
    ]);

    const client = fakeContext();
    tlsTransportSocketFactory.createConfig(
      {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificates: [cert, cert],
          validation_context: {
            match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'a' } }],
          },
        },
      },
      client.ctx,
    );
    assert.deepEqual(
      client.errors.map((e) => e.path),
      [
        `${FILTER_PATH}.common_tls_context.validation_context.match_typed_subject_alt_names`,
        `${FILTER_PATH}.common_tls_context.tls_certificates`,
      ],
    );
  });
});

describe('access loggers', () => {
  test("the file logger defaults to Envoy's format, and honours log_format and the deprecated format", () => {
    const { ctx } = fakeContext();
    const plain = fileAccessLogFactory.createConfig({ path: '/dev/stdout' }, ctx);
    assert.deepEqual(plain.format.source, { kind: 'text', text: DEFAULT_ACCESS_LOG_FORMAT });
    assert.ok(DEFAULT_ACCESS_LOG_FORMAT.startsWith('[%START_TIME%] "%REQ(:METHOD)%'));
    assert.ok(DEFAULT_ACCESS_LOG_FORMAT.endsWith('"%UPSTREAM_HOST%"\n'));

    const old = fileAccessLogFactory.createConfig({ path: '/tmp/a.log', format: '%PROTOCOL%\n' }, ctx);
    assert.deepEqual(old.format.source, { kind: 'text', text: '%PROTOCOL%\n' });

    const json = fileAccessLogFactory.createConfig(
      {
        path: '/tmp/a.log',
        log_format: { json_format: { code: '%RESPONSE_CODE%' }, omit_empty_values: true },
      },
      ctx,
    );
    assert.deepEqual(json.format.source, {
      kind: 'json',
      json: { code: '%RESPONSE_CODE%' },
      sortProperties: false,
    });
    assert.equal(json.format.omitEmptyValues, true);
    assert.equal(json.format.contentType, 'application/json');

    const source = fileAccessLogFactory.createConfig(
      { path: '/tmp/a.log', log_format: { text_format_source: { inline_string: '%DURATION%\n' } } },
      ctx,
    );
    assert.deepEqual(source.format.source, { kind: 'text_source', source: { inlineString: '%DURATION%\n' } });
  });
});

describe('upstream HTTP protocol options', () => {
  test('explicit HTTP/2 with the upstream defaults', () => {
    const { ctx, errors } = fakeContext();
    const config = httpProtocolOptionsFactory.createConfig(
      { explicit_http_config: { http2_protocol_options: {} } },
      ctx,
    );
    assert.deepEqual(errors, []);
    assert.equal(config.protocol, 'http2');
    assert.deepEqual(config.commonOptions, {
      idleTimeoutMs: 3_600_000,
      maxConnectionDurationMs: 0,
      maxStreamDurationMs: 0,
      maxRequestsPerConnection: 0,
      maxHeadersCount: 100,
      headersWithUnderscoresAction: 'ALLOW',
    });
  });

  test('auto_config with HTTP/3 needs the alternate protocols cache', () => {
    const { ctx, errors } = fakeContext();
    const config = httpProtocolOptionsFactory.createConfig(
      { auto_config: { http3_protocol_options: {} } },
      ctx,
    );
    assert.equal(config.protocol, 'auto');
    assert.deepEqual(
      errors.map((e) => e.path),
      [`${FILTER_PATH}.auto_config`],
    );
  });
});

describe('compiled-in extensions', () => {
  test('register without clashing names or type URLs', () => {
    const registry = new ExtensionRegistry(compiledInExtensions);
    assert.equal(registry.list().length, compiledInExtensions.length);
    const types = compiledInExtensions.flatMap((f) => f.configTypes);
    assert.equal(new Set(types).size, types.length);
    assert.equal(
      registry.findByTypeUrl(
        'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
      ),
      tlsTransportSocketFactory,
    );
  });

  /** The required fields of the factories whose message has some. */
  const minimal: Record<string, ProtoMessage> = {
    'envoy.filters.network.tcp_proxy': { stat_prefix: 's', cluster: 'c' },
    'envoy.access_loggers.file': { path: '/dev/null' },
    'envoy.transport_sockets.tls': {
      common_tls_context: {
        tls_certificates: [{ certificate_chain: { filename: 'c' }, private_key: { filename: 'k' } }],
      },
    },
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': { use_downstream_protocol_config: {} },
  };

  test('every internal config survives structuredClone (it is posted to worker threads)', () => {
    const { config } = hcmWith([httpFilter('envoy.filters.http.router')], { route_config: ROUTES });
    assert.deepEqual(structuredClone(config), config);
    const { ctx } = fakeContext();
    for (const factory of compiledInExtensions) {
      if (factory === httpConnectionManagerFactory) continue;
      const message = { '@type': `type.googleapis.com/${factory.configTypes[0]}`, ...minimal[factory.name] };
      const built = factory.createConfig(message, ctx);
      assert.deepEqual(structuredClone(built), built, factory.name);
    }
  });
});

describe('durations', () => {
  test('truncate to whole milliseconds, and fall back to the default only when unset', () => {
    assert.equal(durationMs({ seconds: 1, nanos: 999_999 }, 7), 1000);
    assert.equal(durationMs({ seconds: 0, nanos: 0 }, 7), 0);
    assert.equal(durationMs(undefined, 7), 7);
    assert.throws(() => durationMs('5s', 0), /bug/);
  });
});
