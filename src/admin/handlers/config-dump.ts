/**
 * Admin `/config_dump`: the configuration the server runs, as Envoy's `admin.v3.ConfigDump`
 * JSON, with secrets redacted.
 *
 * Main thread. The dump holds, in Envoy's order, a `BootstrapConfigDump` (the bootstrap as
 * loaded, `--config-yaml` merged, the node as the server uses it), a `ClustersConfigDump`
 * (`static_clusters`), with `?include_eds` an `EndpointsConfigDump` (each cluster's current
 * hosts as a `ClusterLoadAssignment`), a `ListenersConfigDump` (`static_listeners`), when an
 * HTTP connection manager is configured a `ScopedRoutesConfigDump` and a `RoutesConfigDump`
 * (`static_route_configs`, the managers' inline `route_config`s), and a `SecretsConfigDump`
 * (`static_secrets`). Every entry carries its `@type`; sensitive fields print `[redacted]`.
 * Query parameters, as Envoy's: `?resource=<repeated field>` dumps that field's elements
 * one by one; `?mask=<FieldMask>` keeps the fields it names (of each element with
 * `resource`, where a path that does not fit is a 400; else of each top-level message);
 * `?name_regex=<regex>` keeps the resources whose name it matches. Envoy counterpart:
 * `ConfigDumpHandler` (source/server/admin/config_dump_handler.cc) with the config
 * trackers of the cluster, listener, route and secret managers.
 */
import {
  messageField,
  messageList,
  messageTypeOf,
  numberField,
  stringField,
} from '../../config/proto-fields.ts';
import {
  describeField,
  type JsonValue,
  maskFitsMessage,
  ProtoJsonEncoder,
  parseFieldMask,
  timestampOf,
  trimMessage,
} from '../../config/proto-json-encode.ts';
import { protoSchema, typeUrlOf } from '../../config/proto-schema.ts';
import type { ProtoMessage } from '../../config/types.ts';
import type { HostData } from '../../upstream/types.ts';
import { type AdminHandler, type AdminResponse, protoJson, text } from '../admin-server.ts';

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
/** Envoy's default `overprovisioning_factor`. */
const DEFAULT_OVERPROVISIONING_FACTOR = 140;

export interface ConfigDumpSource {
  /** The bootstrap as the server runs it (documents merged, node overrides applied). */
  bootstrap(): ProtoMessage;
  /** Wall-clock ms at which the static configuration was loaded (`last_updated`). */
  loadedAtMs(): number;
  /** Every cluster's current hosts, for `?include_eds`. */
  clusterHosts(): ReadonlyMap<string, readonly HostData[]>;
}

/** The node as Envoy's bootstrap dump shows it: with the user agent (name and version) the server reports. */
export function nodeWithUserAgent(node: ProtoMessage, version: string): ProtoMessage {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return {
    ...node,
    user_agent_name: 'legate',
    user_agent_build_version: { version: { major_number: major, minor_number: minor, patch } },
  };
}

/** One top-level entry of the dump: its message type and decoded content. */
interface DumpPart {
  readonly type: string;
  readonly message: ProtoMessage;
}

type NameMatcher = (name: string) => boolean;

function adminType(name: string): string {
  return `envoy.admin.v3.${name}`;
}

function any(type: string, message: ProtoMessage): ProtoMessage {
  return { '@type': typeUrlOf(type), ...message };
}

/** Every HTTP connection manager config of the static listeners, in config order. */
function connectionManagers(bootstrap: ProtoMessage): ProtoMessage[] {
  const out: ProtoMessage[] = [];
  for (const listener of messageList(messageField(bootstrap, 'static_resources'), 'listeners')) {
    const chains = [...messageList(listener, 'filter_chains')];
    const fallback = messageField(listener, 'default_filter_chain');
    if (fallback !== undefined) chains.push(fallback);
    for (const chain of chains) {
      for (const filter of messageList(chain, 'filters')) {
        const config = messageField(filter, 'typed_config');
        if (config !== undefined && messageTypeOf(config) === HCM_TYPE) out.push(config);
      }
    }
  }
  return out;
}

/** A cluster's hosts as Envoy dumps them: a `ClusterLoadAssignment` grouped by priority and locality. */
export function clusterLoadAssignment(cluster: ProtoMessage, hosts: readonly HostData[]): ProtoMessage {
  const name = stringField(cluster, 'name');
  const serviceName = stringField(messageField(cluster, 'eds_cluster_config'), 'service_name');
  const policy = messageField(messageField(cluster, 'load_assignment'), 'policy');
  const groups = new Map<string, { locality: HostData['locality']; priority: number; hosts: HostData[] }>();
  const sorted = [...hosts].sort(
    (a, b) =>
      a.priority - b.priority ||
      a.locality.region.localeCompare(b.locality.region) ||
      a.locality.zone.localeCompare(b.locality.zone) ||
      a.locality.subZone.localeCompare(b.locality.subZone),
  );
  for (const h of sorted) {
    const key = JSON.stringify([h.priority, h.locality.region, h.locality.zone, h.locality.subZone]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { locality: h.locality, priority: h.priority, hosts: [] };
      groups.set(key, group);
    }
    group.hosts.push(h);
  }
  return {
    cluster_name: serviceName || name,
    endpoints: [...groups.values()].map((g) => {
      const localityWeight = g.hosts[0]?.localityWeight;
      return {
        locality: { region: g.locality.region, zone: g.locality.zone, sub_zone: g.locality.subZone },
        lb_endpoints: g.hosts.map((h) => ({
          endpoint: {
            address: { socket_address: { address: h.address, port_value: h.port } },
            health_check_config: {},
            hostname: h.hostname,
          },
          health_status: h.healthStatus,
          load_balancing_weight: h.weight,
        })),
        ...(localityWeight === undefined ? {} : { load_balancing_weight: localityWeight }),
        priority: g.priority,
      };
    }),
    policy: {
      overprovisioning_factor: numberField(
        policy,
        'overprovisioning_factor',
        DEFAULT_OVERPROVISIONING_FACTOR,
      ),
    },
  };
}

/** The dump's top-level messages, in Envoy's order, resources filtered by name. */
function dumpParts(source: ConfigDumpSource, matches: NameMatcher, includeEds: boolean): DumpPart[] {
  const bootstrap = source.bootstrap();
  const lastUpdated = timestampOf(source.loadedAtMs());
  const resources = messageField(bootstrap, 'static_resources');
  const named = (m: ProtoMessage): boolean => matches(stringField(m, 'name'));
  const clusters = messageList(resources, 'clusters').filter(named);
  const parts: DumpPart[] = [
    { type: adminType('BootstrapConfigDump'), message: { bootstrap, last_updated: lastUpdated } },
    {
      type: adminType('ClustersConfigDump'),
      message: {
        static_clusters: clusters.map((c) => ({
          cluster: any('envoy.config.cluster.v3.Cluster', c),
          last_updated: lastUpdated,
        })),
      },
    },
  ];
  if (includeEds) {
    const hosts = source.clusterHosts();
    parts.push({
      type: adminType('EndpointsConfigDump'),
      message: {
        static_endpoint_configs: clusters.map((c) => ({
          endpoint_config: any(
            'envoy.config.endpoint.v3.ClusterLoadAssignment',
            clusterLoadAssignment(c, hosts.get(stringField(c, 'name')) ?? []),
          ),
        })),
      },
    });
  }
  parts.push({
    type: adminType('ListenersConfigDump'),
    message: {
      static_listeners: messageList(resources, 'listeners')
        .filter(named)
        .map((l) => ({ listener: any('envoy.config.listener.v3.Listener', l), last_updated: lastUpdated })),
    },
  });
  const managers = connectionManagers(bootstrap);
  if (managers.length > 0) {
    parts.push({ type: adminType('ScopedRoutesConfigDump'), message: {} });
    parts.push({
      type: adminType('RoutesConfigDump'),
      message: {
        static_route_configs: managers
          .map((m) => messageField(m, 'route_config'))
          .filter((r): r is ProtoMessage => r !== undefined && named(r))
          .map((r) => ({
            route_config: any('envoy.config.route.v3.RouteConfiguration', r),
            last_updated: lastUpdated,
          })),
      },
    });
  }
  parts.push({
    type: adminType('SecretsConfigDump'),
    message: {
      static_secrets: messageList(resources, 'secrets')
        .filter(named)
        .map((s) => ({
          name: stringField(s, 'name'),
          last_updated: lastUpdated,
          secret: any('envoy.extensions.transport_sockets.tls.v3.Secret', s),
        })),
    },
  });
  return parts;
}

/** The `/config_dump` response for a query, or the error Envoy answers. */
export function configDump(source: ConfigDumpSource, query: URLSearchParams): AdminResponse {
  const schema = protoSchema();
  const resource = query.get('resource') ?? '';
  const mask = query.get('mask') ?? '';
  const nameRegex = query.get('name_regex') ?? '';
  let matches: NameMatcher = () => true;
  if (nameRegex !== '') {
    let re: RegExp;
    try {
      re = new RegExp(nameRegex);
    } catch (err) {
      return text(`Error while parsing name_regex from ${nameRegex}: ${(err as Error).message}\n`, 400);
    }
    matches = (name) => re.test(name);
  }
  const parts = dumpParts(source, matches, query.has('include_eds'));
  const { tree, paths } = parseFieldMask(mask);
  const configs: ProtoMessage[] = [];
  if (resource === '') {
    for (const part of parts) {
      const message = mask === '' ? part.message : trimMessage(schema, part.type, part.message, tree);
      configs.push(any(part.type, message));
    }
  } else {
    const found = parts.find((p) => describeField(schema, p.type, resource) !== undefined);
    if (found === undefined) return text(`${resource} not found in config dump\n`, 404);
    const field = describeField(schema, found.type, resource);
    if (field === undefined || !field.repeated || field.messageType === undefined) {
      return text(`${resource} is not a repeated field. Use ?mask=${resource} to get only this field\n`, 400);
    }
    const elementType = field.messageType;
    for (const element of messageList(found.message, resource)) {
      if (mask !== '' && !maskFitsMessage(schema, elementType, element, paths)) {
        return text(`FieldMask ${mask} could not be successfully used.\n`, 400);
      }
      configs.push(any(elementType, mask === '' ? element : trimMessage(schema, elementType, element, tree)));
    }
  }
  const encoder = new ProtoJsonEncoder(schema, { redact: true });
  const dump: JsonValue = encoder.encode(adminType('ConfigDump'), { configs });
  return protoJson(dump);
}

export function configDumpHandlers(source: ConfigDumpSource): AdminHandler[] {
  return [
    {
      path: '/config_dump',
      help: 'dump current Envoy configs (experimental)',
      mutates: false,
      params: [
        {
          name: 'resource',
          type: 'string',
          help: 'The resource to dump (a repeated field of a top-level dump, e.g. static_clusters)',
        },
        {
          name: 'mask',
          type: 'string',
          help: 'The mask to apply. When both resource and mask are specified, the mask is applied to every element in the desired repeated field so that only a subset of fields are returned. The mask is parsed as a FieldMask.',
        },
        {
          name: 'name_regex',
          type: 'string',
          help: 'Dump only the currently loaded configurations whose names match the specified regex. Can be used with both resource and mask query parameters.',
        },
        { name: 'include_eds', type: 'boolean', help: 'Dump currently loaded configuration including EDS.' },
      ],
      handle: (query) => configDump(source, query),
    },
  ];
}
