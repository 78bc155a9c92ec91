/**
 * The endpoints a cluster's config lists: its `load_assignment`, flattened to one record
 * per `lb_endpoint` with the locality settings it inherits.
 *
 * Main thread, pure functions over a decoded `envoy.config.cluster.v3.Cluster`. STATIC
 * turns each record into a host as it is; STRICT_DNS and LOGICAL_DNS treat its address as a
 * name to resolve. Envoy counterpart: the walk over `load_assignment().endpoints()` in
 * `StaticClusterImpl`, `StrictDnsClusterImpl` and `LogicalDnsCluster`, and
 * `PriorityStateManager::registerHostForPriority` for what a host inherits.
 */
import { enumField, messageField, messageList, numberField, stringField } from '../../config/proto-fields.ts';
import type { ProtoMessage } from '../../config/types.ts';
import type { HealthStatus, HostData, LocalityData } from '../types.ts';

const HEALTH_STATUSES: readonly HealthStatus[] = [
  'UNKNOWN',
  'HEALTHY',
  'UNHEALTHY',
  'DRAINING',
  'TIMEOUT',
  'DEGRADED',
];

/** One `lb_endpoint` of the config, with its locality's settings. */
export interface ConfiguredEndpoint {
  /** `socket_address.address`: an IP address (STATIC) or a name to resolve (DNS clusters). */
  readonly address: string;
  /** `socket_address.port_value`. */
  readonly port: number;
  /** `endpoint.hostname`; '' when unset. */
  readonly hostname: string;
  /** `load_balancing_weight`, 1 when unset. */
  readonly weight: number;
  /** The locality's `priority` (0 when unset). */
  readonly priority: number;
  readonly locality: LocalityData;
  /** The locality's `load_balancing_weight`, when given. */
  readonly localityWeight: number | undefined;
  /** `health_status`, UNKNOWN when unset. */
  readonly healthStatus: HealthStatus;
}

/**
 * Every `lb_endpoint` of `cluster.load_assignment`, in config order (locality by locality),
 * or why Legate cannot use one: an endpoint given as a pipe, an internal address, a named
 * port or a custom `resolver_name` (which STRICT_DNS and LOGICAL_DNS reject in Envoy too),
 * or endpoints from LEDS.
 */
export function configuredEndpoints(cluster: ProtoMessage): ConfiguredEndpoint[] | string {
  const out: ConfiguredEndpoint[] = [];
  const localities = messageList(messageField(cluster, 'load_assignment'), 'endpoints');
  for (const [li, lle] of localities.entries()) {
    if (lle['leds_cluster_locality_config'] !== undefined) {
      return `not supported by Legate: endpoints from LEDS (load_assignment.endpoints[${li}].leds_cluster_locality_config)`;
    }
    const l = messageField(lle, 'locality');
    const locality: LocalityData = {
      region: stringField(l, 'region'),
      zone: stringField(l, 'zone'),
      subZone: stringField(l, 'sub_zone'),
    };
    const lw = lle['load_balancing_weight'];
    const localityWeight = lw === undefined ? undefined : numberField(lle, 'load_balancing_weight', 0);
    const priority = numberField(lle, 'priority', 0);
    for (const [ei, lbe] of messageList(lle, 'lb_endpoints').entries()) {
      const where = `load_assignment.endpoints[${li}].lb_endpoints[${ei}]`;
      const endpoint = messageField(lbe, 'endpoint');
      const address = messageField(endpoint, 'address');
      const sa = messageField(address, 'socket_address');
      if (sa === undefined) {
        const kind = address === undefined ? 'no address' : Object.keys(address).join(', ');
        return `not supported by Legate: an endpoint without a socket_address (${kind}) at ${where}`;
      }
      if (sa['named_port'] !== undefined) {
        return `not supported by Legate: named_port at ${where}.endpoint.address.socket_address; give port_value`;
      }
      const resolverName = stringField(sa, 'resolver_name');
      if (resolverName !== '') {
        return `not supported by Legate: the custom address resolver '${resolverName}' at ${where}.endpoint.address.socket_address.resolver_name`;
      }
      out.push({
        address: stringField(sa, 'address'),
        port: numberField(sa, 'port_value', 0),
        hostname: stringField(endpoint, 'hostname'),
        weight: numberField(lbe, 'load_balancing_weight', 1),
        priority,
        locality,
        localityWeight,
        healthStatus: enumField(lbe, 'health_status', HEALTH_STATUSES, 'UNKNOWN'),
      });
    }
  }
  return out;
}

/** The host an endpoint becomes at `address` (an IP), known by `hostname`. */
export function hostOf(endpoint: ConfiguredEndpoint, address: string, hostname: string): HostData {
  return {
    address,
    port: endpoint.port,
    hostname,
    weight: endpoint.weight,
    priority: endpoint.priority,
    locality: endpoint.locality,
    localityWeight: endpoint.localityWeight,
    healthStatus: endpoint.healthStatus,
  };
}
