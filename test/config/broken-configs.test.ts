/**
 * Broken Envoy v3 configs, one per row, each loaded through `loadConfig` with the real
 * compiled-in extensions: every row names the exact field path, the reason and the kind of
 * the issue it must produce. Rows not marked otherwise must produce exactly the listed
 * errors and no other. A last group checks that one config with several problems reports
 * all of them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type LoadedConfig, loadConfig } from '../../src/config/bootstrap.ts';
import { formatIssue, type IssueKind } from '../../src/config/errors.ts';
import { ExtensionRegistry } from '../../src/config/registry.ts';
import { compiledInExtensions } from '../../src/exe/extensions.ts';

interface ExpectedIssue {
  readonly path: string;
  /** A string must equal the message; a RegExp must match it. */
  readonly message: string | RegExp;
  /** Defaults to 'invalid'. */
  readonly kind?: IssueKind;
  /** Line of the issue in the YAML text, when the row checks it. */
  readonly line?: number;
}

interface Row {
  /** What the row proves. */
  readonly name: string;
  readonly yaml: string;
  readonly expect: readonly ExpectedIssue[];
  /**
   * Why errors beyond `expect` are tolerated (a follow-up error on a field that already
   * failed to decode). Without it, the row's errors must be exactly `expect`.
   */
  readonly otherErrors?: string;
  /** A known src bug: the row states the right behaviour and is marked todo. */
  readonly todo?: string;
}

function load(yaml: string): LoadedConfig {
  return loadConfig({ configYaml: yaml }, { registry: new ExtensionRegistry(compiledInExtensions) });
}

const HCM_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
const TCP_PROXY_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
/** Path of the HttpConnectionManager config in configs built by `withHcm`. */
const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

/** A valid cluster `c` (static, one endpoint), at the indentation of `static_resources` children. */
const CLUSTER_C = `
  clusters:
  - name: c
    connect_timeout: 1s
    load_assignment:
      cluster_name: c
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } } }] }]`;

/** HCM fields (10-space indentation): one virtual host routing everything to cluster `c`. */
const ROUTE_CONFIG = `
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: c }`;

/** HCM field (10-space indentation): the router alone. */
const ROUTER_ONLY = `
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER_TYPE} }`;

/**
 * One listener on 127.0.0.1:10000 whose single network filter is an HttpConnectionManager
 * with `stat_prefix: ingress` and then `fields` (YAML at 10-space indentation), plus
 * cluster `c`.
 */
function withHcm(fields: string): string {
  return `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": ${HCM_TYPE}
          stat_prefix: ingress${fields}
${CLUSTER_C}
`;
}

/** A tcp_proxy filter to cluster `c`, as one flow-style list item. */
const TCP_PROXY_FILTERS = `[ { name: envoy.filters.network.tcp_proxy, typed_config: { "@type": ${TCP_PROXY_TYPE}, stat_prefix: t, cluster: c } } ]`;

const rows: readonly Row[] = [
  // --- Unknown fields, at several depths -------------------------------------------------
  {
    name: 'an unknown field at the bootstrap top level is rejected, suggesting the near field name',
    yaml: 'static_resource: {}',
    expect: [
      {
        path: 'static_resource',
        message:
          "unknown field 'static_resource' in envoy.config.bootstrap.v3.Bootstrap (did you mean 'static_resources'?)",
        line: 1,
      },
    ],
  },
  {
    name: 'an unknown field inside a cluster is rejected with the cluster index in the path',
    yaml: `static_resources:
  clusters:
  - name: c
    connect_timout: 1s`,
    expect: [
      {
        path: 'static_resources.clusters[0].connect_timout',
        message:
          "unknown field 'connect_timout' in envoy.config.cluster.v3.Cluster (did you mean 'connect_timeout'?)",
        line: 4,
      },
    ],
  },
  {
    name: 'an unknown field inside an HttpConnectionManager typed_config is rejected with the path through typed_config',
    yaml: withHcm(`${ROUTE_CONFIG}${ROUTER_ONLY}
          use_remote_adress: true`),
    expect: [
      {
        path: `${HCM}.use_remote_adress`,
        message:
          /^unknown field 'use_remote_adress' in envoy\.extensions\.filters\.network\.http_connection_manager\.v3\.HttpConnectionManager \(did you mean 'use_remote_address'\?\)$/,
      },
    ],
  },
  {
    name: 'a route timeout written on the Route instead of its RouteAction is an unknown field of Route',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: c }
                timeout: 5s${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[0].routes[0].timeout`,
        message: "unknown field 'timeout' in envoy.config.route.v3.Route",
        line: 18,
      },
    ],
  },
  {
    name: 'an unknown field inside a TypedStruct value is checked against the inner type, with the path through value',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/xds.type.v3.TypedStruct
              type_url: ${ROUTER_TYPE}
              value: { dynamic_stats: true, supress_envoy_headers: true }`),
    expect: [
      {
        path: `${HCM}.http_filters[0].typed_config.value.supress_envoy_headers`,
        message:
          "unknown field 'supress_envoy_headers' in envoy.extensions.filters.http.router.v3.Router (did you mean 'suppress_envoy_headers'?)",
      },
    ],
  },
  {
    name: 'an unknown field deep in the admin address is rejected',
    yaml: 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: 9901, portt: 1 } } }',
    expect: [
      {
        path: 'admin.address.socket_address.portt',
        message: /^unknown field 'portt' in envoy\.config\.core\.v3\.SocketAddress/,
      },
    ],
  },
  {
    name: "'@type' in a message that is not an Any is rejected",
    yaml: 'static_resources: { clusters: [ { "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster, name: c } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].@type',
        message:
          "'@type' is only allowed where the field is a google.protobuf.Any, not in envoy.config.cluster.v3.Cluster",
      },
    ],
  },

  // --- Wrong types -------------------------------------------------------------------------
  {
    name: 'a string where an integer belongs (port_value: http) is rejected',
    yaml: 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: http } } }',
    expect: [
      { path: 'admin.address.socket_address.port_value', message: 'expected an integer, got string "http"' },
    ],
    otherErrors:
      "follow-up \"one of 'port_value', 'named_port' is required\" on socket_address (reported as misleading)",
  },
  {
    name: 'a boolean where an integer belongs is rejected',
    yaml: 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: true } } }',
    expect: [
      { path: 'admin.address.socket_address.port_value', message: 'expected an integer, got boolean true' },
    ],
    otherErrors:
      "follow-up \"one of 'port_value', 'named_port' is required\" on socket_address (reported as misleading)",
  },
  {
    name: 'a list where a mapping (a message) belongs is rejected, naming the message type',
    yaml: 'admin: { address: [ { socket_address: { address: 127.0.0.1, port_value: 9901 } } ] }',
    expect: [
      { path: 'admin.address', message: 'expected a mapping (envoy.config.core.v3.Address), got a list' },
    ],
  },
  {
    name: 'a mapping where a string belongs (cluster name) is rejected',
    yaml: 'static_resources: { clusters: [ { name: { first: c }, connect_timeout: 1s } ] }',
    expect: [{ path: 'static_resources.clusters[0].name', message: 'expected a string, got a mapping' }],
    otherErrors:
      "follow-up 'value is required and must not be empty' on the same name (reported as misleading)",
  },
  {
    name: 'a number where a string belongs (stat_prefix: 8080) is rejected with a hint to quote it',
    yaml: withHcm(`${ROUTE_CONFIG}${ROUTER_ONLY}`).replace('stat_prefix: ingress', 'stat_prefix: 8080'),
    expect: [{ path: `${HCM}.stat_prefix`, message: 'expected a string, got number 8080; quote it in YAML' }],
    otherErrors:
      "follow-up 'value is required and must not be empty' on the same stat_prefix (reported as misleading)",
  },
  {
    name: 'a plain string where a list belongs (domains: "*") is rejected, not wrapped',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: "*"
              routes:
              - match: { prefix: "/" }
                route: { cluster: c }${ROUTER_ONLY}`),
    expect: [
      { path: `${HCM}.route_config.virtual_hosts[0].domains`, message: 'expected a list, got string "*"' },
    ],
    otherErrors: "follow-up 'at least one entry is required' on the same domains (reported as misleading)",
  },
  {
    name: 'a string where an Any belongs (typed_config: "router") is rejected',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: "router"`),
    expect: [
      {
        path: `${HCM}.http_filters[0].typed_config`,
        message: `expected a mapping with an '@type' (google.protobuf.Any), got string "router"`,
      },
    ],
  },

  // --- Durations ---------------------------------------------------------------------------
  ...(
    [
      ['the string "5" (no unit)', '"5"', 'string "5"'],
      ['the bare number 5', '5', 'number 5'],
      ['"5m" (only seconds are proto3 JSON)', '5m', 'string "5m"'],
      ['"-"', '"-"', 'string "-"'],
    ] as const
  ).map(
    ([what, yamlValue, shown]): Row => ({
      name: `${what} is not a duration`,
      yaml: `static_resources: { clusters: [ { name: c, connect_timeout: ${yamlValue} } ] }`,
      expect: [
        {
          path: 'static_resources.clusters[0].connect_timeout',
          message: `expected a duration string such as "5s" or "0.25s", got ${shown}`,
        },
      ],
    }),
  ),
  {
    name: 'a bad route timeout deep in the route table is reported with every index on the way',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v0
              domains: ["a.example"]
              routes: [ { match: { prefix: "/" }, route: { cluster: c } } ]
            - name: v
              domains: ["*"]
              routes:
              - { match: { prefix: "/a" }, route: { cluster: c } }
              - { match: { prefix: "/b" }, route: { cluster: c } }
              - { match: { prefix: "/c" }, route: { cluster: c } }
              - match: { prefix: "/" }
                route: { cluster: c, timeout: 15 }${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[1].routes[3].route.timeout`,
        message: 'expected a duration string such as "5s" or "0.25s", got number 15',
        line: 23,
      },
    ],
  },

  // --- Ports -------------------------------------------------------------------------------
  {
    name: 'port 70000 breaks the PGV rule port_value <= 65535',
    yaml: 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: 70000 } } }',
    expect: [
      { path: 'admin.address.socket_address.port_value', message: 'value must be at most 65535, got 70000' },
    ],
  },
  {
    name: 'port -1 is out of range for a uint32',
    yaml: 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: -1 } } }',
    expect: [
      {
        path: 'admin.address.socket_address.port_value',
        message: 'value -1 is out of range for uint32 (0 to 4294967295)',
      },
    ],
    otherErrors:
      "follow-up \"one of 'port_value', 'named_port' is required\" on socket_address (reported as misleading)",
  },

  // --- Names and duplicates ----------------------------------------------------------------
  {
    name: 'an empty cluster name breaks min_len 1',
    yaml: 'static_resources: { clusters: [ { name: "", connect_timeout: 1s } ] }',
    expect: [
      { path: 'static_resources.clusters[0].name', message: 'value is required and must not be empty' },
    ],
  },
  {
    name: 'a duplicate cluster name is reported on the second one, naming the first',
    yaml: `static_resources:
  clusters:
  - { name: c, connect_timeout: 1s }
  - { name: d, connect_timeout: 1s }
  - { name: c, connect_timeout: 2s }`,
    expect: [
      {
        path: 'static_resources.clusters[2].name',
        message: "duplicate cluster name 'c' (also static_resources.clusters[0])",
        line: 5,
      },
    ],
  },
  {
    name: 'a duplicate listener name is reported on the second one, naming the first',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains: [ { filters: ${TCP_PROXY_FILTERS} } ]
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10001 } }
    filter_chains: [ { filters: ${TCP_PROXY_FILTERS} } ]
${CLUSTER_C}`,
    expect: [
      {
        path: 'static_resources.listeners[1].name',
        message: "duplicate listener name 'l' (also static_resources.listeners[0])",
      },
    ],
  },
  {
    name: 'two listeners on the same address are rejected',
    yaml: `static_resources:
  listeners:
  - name: a
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains: [ { filters: ${TCP_PROXY_FILTERS} } ]
  - name: b
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains: [ { filters: ${TCP_PROXY_FILTERS} } ]
${CLUSTER_C}`,
    expect: [
      {
        path: 'static_resources.listeners[1].address',
        message: 'listener address 127.0.0.1:10000 is already used by static_resources.listeners[0]',
      },
    ],
  },
  {
    name: 'the same domain in two virtual hosts is rejected',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - { name: a, domains: ["x.example"], routes: [ { match: { prefix: "/" }, route: { cluster: c } } ] }
            - { name: b, domains: ["x.example"], routes: [ { match: { prefix: "/" }, route: { cluster: c } } ] }${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[1].domains[0]`,
        message:
          /^Only unique values for domains are permitted. Duplicate entry of domain x\.example in route /,
      },
    ],
  },
  {
    name: 'two virtual hosts with one name are rejected',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - { name: a, domains: ["x.example"], routes: [ { match: { prefix: "/" }, route: { cluster: c } } ] }
            - { name: a, domains: ["y.example"], routes: [ { match: { prefix: "/" }, route: { cluster: c } } ] }${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[1].name`,
        message: /^only unique values for virtual host names are permitted; duplicate 'a'/,
      },
    ],
  },

  // --- @type -------------------------------------------------------------------------------
  {
    name: 'a misspelt @type is rejected, suggesting the message of the same package',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Routerr }`),
    expect: [
      {
        path: `${HCM}.http_filters[0].typed_config.@type`,
        message:
          'unknown type "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routerr": no message envoy.extensions.filters.http.router.v3.Routerr ' +
          "in Envoy's v3 API (did you mean envoy.extensions.filters.http.router.v3.Router?)",
      },
    ],
  },
  {
    name: "a typed_config without '@type' is rejected",
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { dynamic_stats: true }`),
    expect: [
      { path: `${HCM}.http_filters[0].typed_config`, message: "'@type' is required (google.protobuf.Any)" },
    ],
  },
  {
    name: 'a v2 type URL is rejected, naming the v3 type that replaced it',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager
          stat_prefix: ingress`,
    expect: [
      {
        path: `${HCM}.@type`,
        message:
          'envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager is an Envoy v2 API type; ' +
          'the v2 API was removed (Envoy 1.18): use type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        line: 9,
      },
    ],
  },
  {
    name: 'a v2 TLS context in a transport socket is rejected, naming its v3 replacement',
    yaml: `static_resources:
  clusters:
  - name: c
    connect_timeout: 1s
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config: { "@type": type.googleapis.com/envoy.api.v2.auth.UpstreamTlsContext }`,
    expect: [
      {
        path: 'static_resources.clusters[0].transport_socket.typed_config.@type',
        message:
          /^envoy\.api\.v2\.auth\.UpstreamTlsContext is an Envoy v2 API type; .*: use type\.googleapis\.com\/envoy\.extensions\.transport_sockets\.tls\.v3\.UpstreamTlsContext$/,
      },
    ],
  },
  {
    name: 'a type URL without the type.googleapis.com/ prefix is rejected',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": envoy.extensions.filters.http.router.v3.Router }`),
    expect: [
      {
        path: `${HCM}.http_filters[0].typed_config.@type`,
        message:
          'type URL "envoy.extensions.filters.http.router.v3.Router" must look like type.googleapis.com/<message name>',
      },
    ],
  },
  {
    name: 'a TypedStruct whose type_url names no message is rejected at its type_url',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/udpa.type.v1.TypedStruct
              type_url: type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr
              value: {}`),
    expect: [
      {
        path: `${HCM}.http_filters[0].typed_config.type_url`,
        message:
          /^unknown type "type\.googleapis\.com\/envoy\.extensions\.filters\.http\.router\.v3\.Routr": /,
      },
    ],
  },

  // --- Extensions --------------------------------------------------------------------------
  {
    name: 'an extension name Envoy does not have, without typed_config, is invalid',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.rotuer`),
    expect: [
      {
        path: `${HCM}.http_filters[0]`,
        message:
          "unknown extension 'envoy.filters.http.rotuer': Envoy has no extension of that name, and no typed_config was given",
      },
    ],
  },
  {
    name: 'an extension name Envoy does not have, with an untyped Struct config, is invalid (not unsupported)',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.nonexistent
            typed_config: { "@type": type.googleapis.com/google.protobuf.Struct, value: {} }
          - name: envoy.filters.http.router`),
    expect: [
      { path: `${HCM}.http_filters[0]`, message: /^unknown extension 'envoy\.filters\.http\.nonexistent'/ },
    ],
  },
  {
    name: 'Lua, an Envoy extension Legate lacks, given with its v3 type, is unsupported (not invalid)',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.lua
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua
              default_source_code: { inline_string: "function envoy_on_request(h) end" }
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER_TYPE} }`),
    expect: [
      {
        kind: 'unsupported',
        path: `${HCM}.http_filters[0]`,
        message: `not supported by Legate: envoy.filters.http.lua at ${HCM}.http_filters[0]`,
        line: 19,
      },
    ],
  },
  {
    name: 'Lua given by name only is unsupported too',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.lua
          - name: envoy.filters.http.router`),
    expect: [
      {
        kind: 'unsupported',
        path: `${HCM}.http_filters[0]`,
        message: `not supported by Legate: envoy.filters.http.lua at ${HCM}.http_filters[0]`,
      },
    ],
  },
  {
    name: 'a route naming a cluster that does not exist is rejected at route.cluster',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: nowhere }${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[0].routes[0].route.cluster`,
        message: "unknown cluster 'nowhere': no cluster of that name in static_resources.clusters",
      },
    ],
  },
  {
    name: 'a weighted cluster naming a cluster that does not exist is rejected at its name',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { weighted_clusters: { clusters: [ { name: c, weight: 1 }, { name: gone, weight: 1 } ] } }${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name`,
        message: "unknown cluster 'gone': no cluster of that name in static_resources.clusters",
      },
    ],
  },
  {
    name: 'the HttpConnectionManager placed in http_filters is a network filter in the wrong category',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.network.http_connection_manager
            typed_config:
              "@type": ${HCM_TYPE}
              stat_prefix: inner
              route_config: {}
              http_filters: [ { name: envoy.filters.http.router } ]
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER_TYPE} }`),
    expect: [
      {
        path: `${HCM}.http_filters[0]`,
        message:
          /^envoy\.filters\.network\.http_connection_manager is an extension of category envoy\.filters\.network and cannot be used here, where the category is envoy\.filters\.http$/,
      },
    ],
  },
  {
    name: 'a listener filter placed among the network filters is in the wrong category',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.listener.tls_inspector
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector }`,
    expect: [
      {
        path: 'static_resources.listeners[0].filter_chains[0].filters[0]',
        message:
          /^envoy\.filters\.listener\.tls_inspector is an extension of category envoy\.filters\.listener and cannot be used here/,
      },
    ],
  },
  {
    name: 'a terminal network filter (tcp_proxy) before another network filter is rejected',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: { "@type": ${TCP_PROXY_TYPE}, stat_prefix: t, cluster: c }
      - name: envoy.filters.network.echo
        typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.network.echo.v3.Echo }
${CLUSTER_C}
`,
    expect: [
      {
        path: 'static_resources.listeners[0].filter_chains[0].filters[0]',
        message:
          'terminal filter named envoy.filters.network.tcp_proxy of type envoy.filters.network.tcp_proxy must be the last filter in a network filter chain',
      },
    ],
  },
  {
    name: 'an HTTP filter whose config comes from ECDS (config_discovery) is reported as unsupported',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: dynamic_filter
            config_discovery:
              config_source: { ads: {} }
              type_urls: [type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer]
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER_TYPE} }`),
    expect: [
      {
        kind: 'unsupported',
        path: `${HCM}.http_filters[0].config_discovery`,
        message: `not supported by Legate: dynamic filter config (ECDS) at ${HCM}.http_filters[0]`,
      },
    ],
  },
  {
    name: 'the router before another HTTP filter is rejected: a terminal filter must be last',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: { "@type": ${ROUTER_TYPE} }
          - name: envoy.filters.http.cors
            typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors }`),
    expect: [
      {
        path: `${HCM}.http_filters[0]`,
        message:
          'terminal filter named envoy.filters.http.router of type envoy.filters.http.router must be the last filter in a http filter chain',
      },
      {
        kind: 'unsupported',
        path: `${HCM}.http_filters[1]`,
        message: `not supported by Legate: envoy.filters.http.cors at ${HCM}.http_filters[1]`,
      },
    ],
  },
  {
    name: 'two routers: the first is a terminal filter that is not last',
    yaml: withHcm(`${ROUTE_CONFIG}
          http_filters:
          - name: first
            typed_config: { "@type": ${ROUTER_TYPE} }
          - name: second
            typed_config: { "@type": ${ROUTER_TYPE} }`),
    expect: [
      {
        path: `${HCM}.http_filters[0]`,
        message:
          'terminal filter named first of type envoy.filters.http.router must be the last filter in a http filter chain',
      },
    ],
  },

  // --- Oneofs and enums --------------------------------------------------------------------
  {
    name: 'port_value and named_port together break their oneof',
    yaml: 'admin: { address: { socket_address: { address: 127.0.0.1, port_value: 9901, named_port: admin } } }',
    expect: [
      {
        path: 'admin.address.socket_address.named_port',
        message:
          "'port_value' and 'named_port' are both set, but only one field of the oneof 'port_specifier' may be",
      },
    ],
  },
  {
    name: 'an unknown enum name is rejected, listing the values and suggesting the near one',
    yaml: 'static_resources: { clusters: [ { name: c, connect_timeout: 1s, lb_policy: ROUND_ROBBIN } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].lb_policy',
        message:
          /^unknown value "ROUND_ROBBIN" for enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy; expected one of ROUND_ROBIN, LEAST_REQUEST, .* \(did you mean ROUND_ROBIN\?\)$/,
      },
    ],
  },
  {
    name: 'a fractional number is not an enum value',
    yaml: 'static_resources: { clusters: [ { name: c, connect_timeout: 1s, lb_policy: 1.5 } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].lb_policy',
        message:
          'expected an enum value name or number (envoy.config.cluster.v3.Cluster.LbPolicy), got number 1.5',
      },
    ],
  },
  {
    name: 'a boolean is not an enum value',
    yaml: 'static_resources: { clusters: [ { name: c, connect_timeout: 1s, type: true } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].type',
        message:
          'expected an enum value name or number (envoy.config.cluster.v3.Cluster.DiscoveryType), got boolean true',
      },
    ],
  },
  {
    name: 'an enum name that is an Object.prototype property (toString) is an unknown enum value',
    yaml: `static_resources:
  clusters:
  - name: c
    connect_timeout: 1s
    load_assignment:
      cluster_name: c
      endpoints: [{ lb_endpoints: [{ health_status: toString, endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 8080 } } } }] }]`,
    expect: [
      {
        path: 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].health_status',
        message: /^unknown value "toString" for enum envoy\.config\.core\.v3\.HealthStatus/,
      },
    ],
  },

  // --- protoc-gen-validate rules -----------------------------------------------------------
  {
    name: 'an empty stat_prefix breaks string min_len 1',
    yaml: withHcm(`${ROUTE_CONFIG}${ROUTER_ONLY}`).replace('stat_prefix: ingress', 'stat_prefix: ""'),
    expect: [{ path: `${HCM}.stat_prefix`, message: 'value is required and must not be empty', line: 10 }],
  },
  {
    name: 'max_request_headers_kb 0 breaks uint32 gt 0',
    yaml: withHcm(`${ROUTE_CONFIG}${ROUTER_ONLY}
          max_request_headers_kb: 0`),
    expect: [
      {
        path: `${HCM}.max_request_headers_kb`,
        message: 'value must be greater than 0 and at most 8192, got 0',
      },
    ],
  },
  {
    name: 'max_request_headers_kb 9000 breaks uint32 lte 8192',
    yaml: withHcm(`${ROUTE_CONFIG}${ROUTER_ONLY}
          max_request_headers_kb: 9000`),
    expect: [
      {
        path: `${HCM}.max_request_headers_kb`,
        message: 'value must be greater than 0 and at most 8192, got 9000',
      },
    ],
  },
  {
    name: 'a virtual host with no domains breaks repeated min_items 1',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes: [ { match: { prefix: "/" }, route: { cluster: c } } ]
            - name: nodomains
              routes: [ { match: { prefix: "/" }, route: { cluster: c } } ]${ROUTER_ONLY}`),
    expect: [
      { path: `${HCM}.route_config.virtual_hosts[1].domains`, message: 'at least one entry is required' },
    ],
  },
  {
    name: 'a route without its required match is rejected at match',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - route: { cluster: c }${ROUTER_ONLY}`),
    expect: [{ path: `${HCM}.route_config.virtual_hosts[0].routes[0].match`, message: 'value is required' }],
  },
  {
    name: 'a route without an action breaks its required oneof',
    yaml: withHcm(`
          route_config:
            virtual_hosts:
            - name: v
              domains: ["*"]
              routes:
              - match: { prefix: "/" }${ROUTER_ONLY}`),
    expect: [
      {
        path: `${HCM}.route_config.virtual_hosts[0].routes[0]`,
        message: /^one of 'route', 'redirect', 'direct_response', .* is required$/,
      },
    ],
  },
  {
    name: 'an undefined enum number breaks enum.defined_only',
    yaml: 'static_resources: { clusters: [ { name: c, connect_timeout: 1s, lb_policy: 99 } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].lb_policy',
        message: /^value 99 is not a defined enum value; expected one of ROUND_ROBIN, /,
      },
    ],
  },
  {
    name: 'stats_flush_interval 400s breaks the duration bound lt 300s',
    yaml: 'stats_flush_interval: 400s',
    expect: [
      { path: 'stats_flush_interval', message: 'value must be at least 0.001s and less than 300s, got 400s' },
    ],
  },
  {
    name: 'stats_flush_interval 0.0001s breaks the duration bound gte 1ms',
    yaml: 'stats_flush_interval: 0.0001s',
    expect: [
      {
        path: 'stats_flush_interval',
        message: 'value must be at least 0.001s and less than 300s, got 0.0001s',
      },
    ],
  },

  // --- Cluster types -----------------------------------------------------------------------
  {
    name: 'a STATIC cluster with a host name is rejected: it needs IP addresses',
    yaml: `static_resources:
  clusters:
  - name: c
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: c
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: backend.local, port_value: 80 } } } }] }]`,
    expect: [
      {
        path: 'static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address',
        message: /^malformed IP address: 'backend\.local'; a STATIC cluster needs IP addresses/,
      },
    ],
  },
  {
    name: 'a LOGICAL_DNS cluster with two endpoints is rejected',
    yaml: `static_resources:
  clusters:
  - name: c
    type: LOGICAL_DNS
    connect_timeout: 1s
    load_assignment:
      cluster_name: c
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: a.local, port_value: 80 } } }
        - endpoint: { address: { socket_address: { address: b.local, port_value: 80 } } }`,
    expect: [
      {
        path: 'static_resources.clusters[0].load_assignment',
        message: /^a LOGICAL_DNS cluster must have exactly one endpoint .*, found 2$/,
      },
    ],
  },
  {
    name: 'an ORIGINAL_DST cluster with the default ROUND_ROBIN policy is rejected',
    yaml: 'static_resources: { clusters: [ { name: c, type: ORIGINAL_DST, connect_timeout: 1s } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].lb_policy',
        message:
          'LB policy ROUND_ROBIN is not valid for cluster type ORIGINAL_DST; only CLUSTER_PROVIDED is allowed',
      },
    ],
  },
  {
    name: 'an EDS cluster without eds_cluster_config is rejected',
    yaml: 'static_resources: { clusters: [ { name: c, type: EDS, connect_timeout: 1s } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].eds_cluster_config',
        message: 'an EDS cluster needs an eds_cluster_config naming its EDS config source',
      },
    ],
  },

  // --- Listeners ---------------------------------------------------------------------------
  {
    name: 'a listener without filter chains is rejected',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }`,
    expect: [
      {
        path: 'static_resources.listeners[0]',
        message: 'a listener needs at least one filter chain (filter_chains or default_filter_chain)',
        line: 3,
      },
    ],
  },
  {
    name: 'two filter chains with the same (empty) match are rejected',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    filter_chains:
    - filters: ${TCP_PROXY_FILTERS}
    - filters: ${TCP_PROXY_FILTERS}
${CLUSTER_C}`,
    expect: [
      {
        path: 'static_resources.listeners[0].filter_chains[1].filter_chain_match',
        message:
          'filter_chains[1] has the same filter_chain_match as filter_chains[0]; each chain must match differently',
      },
    ],
  },
  {
    name: 'a gRPC config source naming a cluster that is not static is rejected',
    yaml: `dynamic_resources:
  cds_config:
    resource_api_version: V3
    api_config_source:
      api_type: GRPC
      transport_api_version: V3
      grpc_services: [ { envoy_grpc: { cluster_name: xds } } ]`,
    expect: [
      {
        path: 'dynamic_resources.cds_config.api_config_source.grpc_services[0].envoy_grpc.cluster_name',
        message: "unknown cluster 'xds': a gRPC config source needs a cluster from static_resources.clusters",
      },
    ],
  },

  // --- Syntax and encodings ----------------------------------------------------------------
  {
    name: 'one field given twice, in snake_case and lowerCamelCase, is rejected',
    yaml: 'static_resources: { clusters: [ { name: c, connect_timeout: 1s, connectTimeout: 2s } ] }',
    expect: [
      {
        path: 'static_resources.clusters[0].connect_timeout',
        message: "field given twice (as 'connect_timeout' and 'connectTimeout')",
      },
    ],
  },
  {
    name: 'a YAML syntax error is reported with its line and column',
    yaml: `static_resources:
  clusters:
  - name: c
    connect_timeout: [1s
`,
    expect: [{ path: '', message: /^YAML syntax error: /, line: 5 }],
  },
  {
    name: 'a duplicate YAML key is reported with its line and column',
    yaml: `static_resources:
  clusters:
  - name: c
    name: d
`,
    expect: [{ path: '', message: /^duplicate key: /, line: 4 }],
  },
  {
    name: '2^63 is out of range for an int64 socket option value',
    yaml: `static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
    socket_options: [ { level: 1, name: 2, int_value: 9223372036854775808 } ]
    filter_chains: [ { filters: ${TCP_PROXY_FILTERS} } ]
${CLUSTER_C}`,
    expect: [
      {
        path: 'static_resources.listeners[0].socket_options[0].int_value',
        message:
          'value 9223372036854775808 is out of range for int64 (-9223372036854775808 to 9223372036854775807)',
      },
    ],
    otherErrors:
      "follow-up \"one of 'int_value', 'buf_value' is required\" on the socket option (reported as misleading)",
  },
  {
    name: 'bytes that are not base64 are rejected',
    yaml: `static_resources:
  clusters:
  - name: c
    connect_timeout: 1s
    health_checks:
    - timeout: 1s
      interval: 5s
      unhealthy_threshold: 2
      healthy_threshold: 1
      tcp_health_check: { send: { binary: "not base64!" } }`,
    expect: [
      {
        path: 'static_resources.clusters[0].health_checks[0].tcp_health_check.send.binary',
        message: 'expected base64-encoded bytes, got string "not base64!"',
      },
    ],
    otherErrors: "follow-up \"one of 'text', 'binary' is required\" on send (reported as misleading)",
  },
  {
    name: 'a Timestamp that is not RFC 3339 is rejected (inside typed_filter_metadata, keyed path)',
    yaml: `static_resources:
  clusters:
  - name: c
    connect_timeout: 1s
    metadata:
      typed_filter_metadata:
        legate.test: { "@type": type.googleapis.com/google.protobuf.Timestamp, value: "yesterday" }`,
    expect: [
      {
        path: 'static_resources.clusters[0].metadata.typed_filter_metadata["legate.test"].value',
        message: 'expected an RFC 3339 timestamp such as "2026-01-02T03:04:05Z", got string "yesterday"',
      },
    ],
  },
  {
    name: 'null as a list item is rejected',
    yaml: 'static_resources: { clusters: [ null ] }',
    expect: [{ path: 'static_resources.clusters[0]', message: 'null is not allowed in a list' }],
  },
];

function matches(message: string, expected: string | RegExp): boolean {
  return typeof expected === 'string' ? message === expected : expected.test(message);
}

describe('broken configs', () => {
  test('the table holds at least 45 broken configs', () => {
    assert.ok(rows.length >= 45, `only ${rows.length} rows`);
  });

  for (const row of rows) {
    test(row.name, row.todo === undefined ? {} : { todo: row.todo }, () => {
      const loaded = load(row.yaml);
      const shown = loaded.issues.map((i) => `\n  [${i.kind}] ${formatIssue(i)}`).join('') || ' (none)';
      for (const want of row.expect) {
        const kind = want.kind ?? 'invalid';
        const found = loaded.issues.find(
          (i) => i.path === want.path && i.kind === kind && matches(i.message, want.message),
        );
        assert.ok(
          found,
          `expected a ${kind} issue at '${want.path}' matching ${String(want.message)}; got:${shown}`,
        );
        if (want.line !== undefined)
          assert.equal(found.source?.line, want.line, `line of the issue at '${want.path}'`);
      }
      if (row.otherErrors === undefined) {
        const wanted = row.expect.filter((e) => (e.kind ?? 'invalid') !== 'warning').length;
        assert.equal(loaded.errors.length, wanted, `exactly the expected errors; got:${shown}`);
      }
    });
  }
});

describe('a config with several problems', () => {
  const yaml = `stats_flush_interval: 5
static_resources:
  clusters:
  - name: ""
    connect_timeout: 1s
    lb_policy: ROUND_ROBBIN
  - name: d
    connect_timout: 1s
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 70000 } }
`;

  test('every one of its six problems is reported, none stops the others', () => {
    const loaded = load(yaml);
    assert.equal(loaded.errors.length, 6, loaded.errors.map((e) => `\n  ${formatIssue(e)}`).join(''));
    assert.deepEqual(loaded.errors.map((e) => e.path).sort(), [
      'static_resources.clusters[0].lb_policy',
      'static_resources.clusters[0].name',
      'static_resources.clusters[1].connect_timout',
      'static_resources.listeners[0]',
      'static_resources.listeners[0].address.socket_address.port_value',
      'stats_flush_interval',
    ]);
    assert.ok(loaded.errors.every((e) => e.kind === 'invalid'));
  });

  test('each problem is located at its own line of the YAML', () => {
    const lines = Object.fromEntries(load(yaml).errors.map((e) => [e.path, e.source?.line]));
    assert.deepEqual(lines, {
      stats_flush_interval: 1,
      'static_resources.clusters[0].name': 4,
      'static_resources.clusters[0].lb_policy': 6,
      'static_resources.clusters[1].connect_timout': 8,
      'static_resources.listeners[0]': 10,
      'static_resources.listeners[0].address.socket_address.port_value': 11,
    });
  });
});

describe('--allow-unknown-static-fields', () => {
  test('turns an unknown field into a warning, so the config loads', () => {
    const loaded = loadConfig(
      {
        configYaml:
          'static_resources: { clusters: [ { name: c, connect_timeout: 1s, connect_timout: 1s } ] }',
      },
      { registry: new ExtensionRegistry(compiledInExtensions), allowUnknownFields: true },
    );
    assert.deepEqual(loaded.errors, []);
    assert.deepEqual(
      loaded.warnings.map((w) => w.path),
      ['static_resources.clusters[0].connect_timout'],
    );
  });
});
