/**
 * Admin `/clusters`: every cluster's circuit breakers and hosts with their counters, in
 * Envoy's text form (`cluster::host::stat::value`) or `?format=json` (`admin.v3.Clusters`).
 *
 * Main thread; host counters are the cells every worker adds to. Envoy counterpart:
 * `ClustersHandler`.
 */
import type { ClusterManager } from '../../upstream/cluster-manager.ts';
import { hostKey } from '../../upstream/priority-set.ts';
import type { CircuitBreakerThresholds, HostData } from '../../upstream/types.ts';
import { type AdminHandler, json, text } from '../admin-server.ts';

/** Host counters Envoy prints as counters, then the ones it prints as gauges. */
const COUNTERS = ['cx_connect_fail', 'cx_total', 'rq_error', 'rq_success', 'rq_timeout', 'rq_total'] as const;
const GAUGES = ['cx_active', 'rq_active'] as const;

function healthFlags(h: HostData): string {
  switch (h.healthStatus) {
    case 'UNHEALTHY':
    case 'TIMEOUT':
      return '/failed_eds_health';
    case 'DRAINING':
      return '/pending_dynamic_removal';
    case 'DEGRADED':
      return '/degraded_eds_health';
    default:
      return 'healthy';
  }
}

function thresholdLines(name: string, label: string, t: CircuitBreakerThresholds): string[] {
  return [
    `${name}::${label}::max_connections::${t.maxConnections}`,
    `${name}::${label}::max_pending_requests::${t.maxPendingRequests}`,
    `${name}::${label}::max_requests::${t.maxRequests}`,
    `${name}::${label}::max_retries::${t.maxRetries}`,
  ];
}

function thresholdJson(t: CircuitBreakerThresholds, priority?: 'HIGH'): Record<string, unknown> {
  return {
    ...(priority === undefined ? {} : { priority }),
    max_connections: t.maxConnections,
    max_pending_requests: t.maxPendingRequests,
    max_requests: t.maxRequests,
    max_retries: t.maxRetries,
  };
}

export function clustersHandlers(clusters: ClusterManager): AdminHandler[] {
  return [
    {
      path: '/clusters',
      help: 'upstream cluster status',
      mutates: false,
      handle: (query) => {
        const snapshot = clusters.snapshot();
        if (query.get('format') === 'json') {
          return json({
            cluster_statuses: snapshot.map(({ data, hostCounters }) => ({
              name: data.name,
              added_via_api: false,
              observability_name: data.statName,
              circuit_breakers: {
                thresholds: [
                  thresholdJson(data.circuitBreakers.default),
                  thresholdJson(data.circuitBreakers.high, 'HIGH'),
                ],
              },
              host_statuses: data.hosts.map((h) => {
                const counters = hostCounters(h);
                return {
                  address: { socket_address: { address: h.address, port_value: h.port } },
                  stats: [
                    ...COUNTERS.map((name) => ({ name, value: String(counters[name] ?? 0) })),
                    ...GAUGES.map((name) => ({ type: 'GAUGE', name, value: String(counters[name] ?? 0) })),
                  ],
                  health_status: {
                    eds_health_status: h.healthStatus === 'UNKNOWN' ? 'HEALTHY' : h.healthStatus,
                  },
                  weight: h.weight,
                  hostname: h.hostname,
                  priority: h.priority,
                  locality: {
                    region: h.locality.region,
                    zone: h.locality.zone,
                    sub_zone: h.locality.subZone,
                  },
                };
              }),
            })),
          });
        }
        const lines: string[] = [];
        for (const { data, hostCounters } of snapshot) {
          const n = data.name;
          lines.push(`${n}::observability_name::${data.statName}`);
          lines.push(...thresholdLines(n, 'default_priority', data.circuitBreakers.default));
          lines.push(...thresholdLines(n, 'high_priority', data.circuitBreakers.high));
          lines.push(`${n}::added_via_api::false`);
          for (const h of data.hosts) {
            const counters = hostCounters(h);
            const k = `${n}::${hostKey(h.address, h.port)}`;
            for (const name of [...COUNTERS, ...GAUGES].sort())
              lines.push(`${k}::${name}::${counters[name] ?? 0}`);
            lines.push(
              `${k}::hostname::${h.hostname}`,
              `${k}::health_flags::${healthFlags(h)}`,
              `${k}::weight::${h.weight}`,
              `${k}::region::${h.locality.region}`,
              `${k}::zone::${h.locality.zone}`,
              `${k}::sub_zone::${h.locality.subZone}`,
              `${k}::canary::false`,
              `${k}::priority::${h.priority}`,
              `${k}::success_rate::-1`,
              `${k}::local_origin_success_rate::-1`,
            );
          }
        }
        return text(lines.length === 0 ? '' : `${lines.join('\n')}\n`);
      },
    },
  ];
}
