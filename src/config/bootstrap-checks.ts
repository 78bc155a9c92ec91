/**
 * The cross-checks Envoy makes when it builds the server from a valid bootstrap: rules
 * that span several messages, which protoc-gen-validate cannot express.
 *
 * Main thread, after decoding and extension resolution. Each check names the Envoy code
 * path whose error it mirrors:
 * - duplicate cluster names (`ClusterManagerImpl`: "cluster manager: duplicate cluster");
 * - cluster type rules (`StaticClusterImpl` wants IP addresses, `LogicalDnsCluster` one
 *   endpoint, `OriginalDstCluster` the CLUSTER_PROVIDED policy and no endpoints, EDS an
 *   `eds_cluster_config`);
 * - listeners: duplicate names, two listeners on one address, no filter chains, two
 *   filter chains with the same match (`ListenerManagerImpl`, `FilterChainManagerImpl`);
 * - routes naming a cluster that does not exist (`RouteEntryImplBase::validateClusters`);
 * - xDS config sources naming a gRPC cluster that is not static (`Grpc::AsyncClientManager`).
 */
import { isIP } from 'node:net';
import { runtimeConfig } from '../runtime/config.ts';
import { statsTagsProblems } from '../stats/tag-extractor.ts';
import type { IssueSink, PathStep } from './errors.ts';
import { formatPath } from './errors.ts';
import type { Resolution } from './extension-resolver.ts';
import { at, isMessage, messageField, messageList, stringField } from './proto-fields.ts';
import { validateTerminalFilters } from './terminal-filters.ts';
import type { ProtoMessage, ProtoValue } from './types.ts';

export function checkBootstrap(bootstrap: ProtoMessage, resolution: Resolution, sink: IssueSink): void {
  const staticResources = messageField(bootstrap, 'static_resources');
  const root = at(undefined, 'static_resources');
  const clusterNames = checkClusters(entries(staticResources?.['clusters'], at(root, 'clusters')), sink);
  const runtime = runtimeConfig(bootstrap);
  for (const e of runtime.errors)
    (e.unsupported === true ? sink.unsupported : sink.error).call(sink, e.step, e.message);
  for (const w of runtime.warnings) sink.warn(w.step, w.message);
  for (const p of statsTagsProblems(messageField(bootstrap, 'stats_config'))) sink.error(p.step, p.message);
  checkListeners(entries(messageList(staticResources, 'listeners'), at(root, 'listeners')), resolution, sink);

  // Routes with validate_clusters: the clusters must be static ones. With CDS, the clusters
  // may arrive later, and Legate defers the check to the time the route table is used.
  const dynamic = messageField(bootstrap, 'dynamic_resources');
  const hasCds = dynamic?.['cds_config'] !== undefined;
  for (const ref of resolution.clusterReferences) {
    if (clusterNames.has(ref.name)) continue;
    if (hasCds) sink.warn(ref.step, `cluster '${ref.name}' is not a static cluster; it must come from CDS`);
    else
      sink.error(
        ref.step,
        `unknown cluster '${ref.name}': no cluster of that name in static_resources.clusters`,
      );
  }

  // gRPC config sources (ADS, CDS, LDS over gRPC) need their cluster defined statically.
  if (dynamic !== undefined) {
    const dynStep = at(undefined, 'dynamic_resources');
    const sources: Array<[ProtoMessage | undefined, PathStep | undefined]> = [
      [messageField(dynamic, 'ads_config'), at(dynStep, 'ads_config')],
      [
        messageField(messageField(dynamic, 'cds_config'), 'api_config_source'),
        at(dynStep, 'cds_config', 'api_config_source'),
      ],
      [
        messageField(messageField(dynamic, 'lds_config'), 'api_config_source'),
        at(dynStep, 'lds_config', 'api_config_source'),
      ],
    ];
    for (const [source, step] of sources) {
      messageList(source, 'grpc_services').forEach((svc, i) => {
        const name = stringField(messageField(svc, 'envoy_grpc'), 'cluster_name');
        if (name !== '' && !clusterNames.has(name)) {
          sink.error(
            at(step, 'grpc_services', i, 'envoy_grpc', 'cluster_name'),
            `unknown cluster '${name}': a gRPC config source needs a cluster from static_resources.clusters`,
          );
        }
      });
    }
  }
}

interface Entry {
  readonly msg: ProtoMessage;
  readonly step: PathStep | undefined;
}

function entries(list: ProtoValue | undefined, step: PathStep | undefined): Entry[] {
  return (Array.isArray(list) ? list.filter(isMessage) : []).map((msg, i) => ({ msg, step: at(step, i) }));
}

function checkClusters(clusters: readonly Entry[], sink: IssueSink): Set<string> {
  const names = new Map<string, Entry>();
  for (const entry of clusters) {
    const name = stringField(entry.msg, 'name');
    const first = names.get(name);
    if (first !== undefined && name !== '') {
      sink.error(at(entry.step, 'name'), `duplicate cluster name '${name}' (also ${formatPath(first.step)})`);
    } else {
      names.set(name, entry);
    }
    checkClusterType(entry.msg, entry.step, sink);
  }
  return new Set(names.keys());
}

interface EndpointRef {
  readonly address: ProtoMessage;
  readonly step: PathStep | undefined;
}

function endpointsOf(cluster: ProtoMessage, cStep: PathStep | undefined): EndpointRef[] {
  const out: EndpointRef[] = [];
  messageList(messageField(cluster, 'load_assignment'), 'endpoints').forEach((locality, li) => {
    messageList(locality, 'lb_endpoints').forEach((lbe, ei) => {
      const address = messageField(messageField(lbe, 'endpoint'), 'address');
      if (address !== undefined) {
        out.push({
          address,
          step: at(cStep, 'load_assignment', 'endpoints', li, 'lb_endpoints', ei, 'endpoint', 'address'),
        });
      }
    });
  });
  return out;
}

function checkClusterType(cluster: ProtoMessage, cStep: PathStep | undefined, sink: IssueSink): void {
  if (cluster['cluster_type'] !== undefined) return; // a custom cluster: its factory decides
  const type = stringField(cluster, 'type', 'STATIC');
  const endpoints = endpointsOf(cluster, cStep);
  switch (type) {
    case 'STATIC':
      for (const ep of endpoints) {
        const sa = messageField(ep.address, 'socket_address');
        const address = stringField(sa, 'address');
        if (sa !== undefined && isIP(address) === 0 && stringField(sa, 'resolver_name') === '') {
          sink.error(
            at(ep.step, 'socket_address', 'address'),
            `malformed IP address: '${address}'; a STATIC cluster needs IP addresses (use STRICT_DNS or LOGICAL_DNS for host names)`,
          );
        }
      }
      break;
    case 'LOGICAL_DNS':
      if (endpoints.length !== 1) {
        sink.error(
          at(cStep, 'load_assignment'),
          `a LOGICAL_DNS cluster must have exactly one endpoint (one locality with one lb_endpoint), found ${endpoints.length}`,
        );
      }
      break;
    case 'ORIGINAL_DST': {
      const policy = stringField(cluster, 'lb_policy', 'ROUND_ROBIN');
      if (policy !== 'CLUSTER_PROVIDED') {
        sink.error(
          at(cStep, 'lb_policy'),
          `LB policy ${policy} is not valid for cluster type ORIGINAL_DST; only CLUSTER_PROVIDED is allowed`,
        );
      }
      if (endpoints.length > 0) {
        sink.error(
          at(cStep, 'load_assignment'),
          'an ORIGINAL_DST cluster takes its hosts from connections and must not list endpoints',
        );
      }
      break;
    }
    case 'EDS':
      if (cluster['eds_cluster_config'] === undefined) {
        sink.error(
          at(cStep, 'eds_cluster_config'),
          'an EDS cluster needs an eds_cluster_config naming its EDS config source',
        );
      }
      break;
    default:
      break;
  }
}

function addressKey(address: ProtoMessage | undefined): string | undefined {
  const sa = messageField(address, 'socket_address');
  if (sa !== undefined) {
    const port = sa['port_value'];
    if (port === undefined || port === 0) return undefined; // port 0: the kernel picks, never a clash
    return `${stringField(sa, 'protocol', 'TCP')} ${stringField(sa, 'address')}:${String(port)}`;
  }
  const pipe = messageField(address, 'pipe');
  if (pipe !== undefined) return `pipe ${stringField(pipe, 'path')}`;
  return undefined;
}

function checkListeners(
  listeners: readonly Entry[],
  resolution: Resolution | undefined,
  sink: IssueSink,
): void {
  const names = new Map<string, Entry>();
  const addresses = new Map<string, Entry>();
  for (const { msg: listener, step: lStep } of listeners) {
    const name = stringField(listener, 'name');
    if (name !== '') {
      const first = names.get(name);
      if (first !== undefined)
        sink.error(at(lStep, 'name'), `duplicate listener name '${name}' (also ${formatPath(first.step)})`);
      else names.set(name, { msg: listener, step: lStep });
    }
    const key = addressKey(messageField(listener, 'address'));
    if (key !== undefined) {
      const first = addresses.get(key);
      if (first !== undefined) {
        sink.error(
          at(lStep, 'address'),
          `listener address ${key.slice(key.indexOf(' ') + 1)} is already used by ${formatPath(first.step)}`,
        );
      } else {
        addresses.set(key, { msg: listener, step: lStep });
      }
    }
    const chains = messageList(listener, 'filter_chains');
    const isApiListener = listener['api_listener'] !== undefined;
    if (chains.length === 0 && listener['default_filter_chain'] === undefined && !isApiListener) {
      sink.error(lStep, 'a listener needs at least one filter chain (filter_chains or default_filter_chain)');
    }
    if (resolution !== undefined) {
      const allChains: Array<[ProtoMessage | undefined, PathStep | undefined]> = [
        ...chains.map((c, ci): [ProtoMessage, PathStep | undefined] => [c, at(lStep, 'filter_chains', ci)]),
        [messageField(listener, 'default_filter_chain'), at(lStep, 'default_filter_chain')],
      ];
      for (const [chain, chainStep] of allChains) {
        const filters = messageList(chain, 'filters').map((f, fi) => ({
          name: stringField(f, 'name'),
          step: at(chainStep, 'filters', fi),
          resolved: resolution.extensions.get(f),
        }));
        validateTerminalFilters(filters, 'network', (step, message) => sink.error(step, message));
      }
    }
    const matches = new Map<string, number>();
    chains.forEach((chain, ci) => {
      const match = JSON.stringify(chain['filter_chain_match'] ?? {}, (_k, v) =>
        typeof v === 'bigint' ? v.toString() : v,
      );
      const first = matches.get(match);
      if (first !== undefined) {
        sink.error(
          at(lStep, 'filter_chains', ci, 'filter_chain_match'),
          `filter_chains[${ci}] has the same filter_chain_match as filter_chains[${first}]; each chain must match differently`,
        );
      } else {
        matches.set(match, ci);
      }
    });
  }
}

/** A filesystem xDS file: its listeners and clusters must be uniquely named, like a static bootstrap's. */
export function checkResources(response: ProtoMessage, sink: IssueSink): void {
  const all = entries(response['resources'], at(undefined, 'resources'));
  const ofType = (suffix: string): Entry[] => all.filter((e) => stringField(e.msg, '@type').endsWith(suffix));
  checkClusters(ofType('.config.cluster.v3.Cluster'), sink);
  checkListeners(ofType('.config.listener.v3.Listener'), undefined, sink);
}
