/**
 * Resolves every extension a decoded config names to a compiled-in factory, and builds
 * its internal config.
 *
 * Main thread, after decoding. Points are visited inner first, so a factory (the HTTP
 * connection manager, say) finds the configs of the extensions nested in it (its HTTP
 * filters) already built. A config Envoy accepts but whose extension Legate lacks is
 * reported as `not supported by Legate: <name> at <path>`, apart from invalid configs.
 *
 * Envoy counterpart: `Config::Utility::getAndCheckFactory` and `translateOpaqueConfig`,
 * called by each config consumer.
 */
import type { IssueSink, PathStep } from './errors.ts';
import { fieldStep, formatPath } from './errors.ts';
import type { ExtensionPoint, ProtoJsonDecoder } from './proto-json.ts';
import type { ProtoSchema } from './proto-schema.ts';
import type { ExtensionRegistry } from './registry.ts';
import type { ExtensionContext, ExtensionFactory, ProtoMessage, ResolvedExtension } from './types.ts';

export interface ClusterReference {
  readonly name: string;
  readonly step: PathStep | undefined;
}

export interface Resolution {
  readonly extensions: Map<ProtoMessage, ResolvedExtension>;
  readonly clusterReferences: ClusterReference[];
}

const FILTER_CONFIG = 'envoy.config.route.v3.FilterConfig';

function messageNameOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

export function resolveExtensions(
  points: readonly ExtensionPoint[],
  registry: ExtensionRegistry,
  schema: ProtoSchema,
  decoder: ProtoJsonDecoder,
  sink: IssueSink,
): Resolution {
  const extensions = new Map<ProtoMessage, ResolvedExtension>();
  const clusterReferences: ClusterReference[] = [];

  for (const point of points) {
    let typedConfig = point.typedConfig;
    let optional = point.optional;
    let configStep = point.configStep;
    // Per-route config may come wrapped: { '@type': FilterConfig, config: Any, is_optional, disabled }.
    if (
      point.perRoute &&
      typedConfig !== undefined &&
      messageNameOf(String(typedConfig['@type'])) === FILTER_CONFIG
    ) {
      optional ||= typedConfig['is_optional'] === true;
      const inner = typedConfig['config'];
      configStep = { parent: configStep, kind: 'field', name: 'config', source: 'config' };
      typedConfig =
        inner !== null && typeof inner === 'object' && !Array.isArray(inner)
          ? (inner as ProtoMessage)
          : undefined;
      if (typedConfig === undefined) continue; // a disabled entry with no config
    }
    if (point.owner['config_discovery'] !== undefined) {
      // Extension config discovery: the filter's config comes from an ECDS server.
      sink.unsupported(
        fieldStep(point.step, 'config_discovery'),
        `not supported by Legate: dynamic filter config (ECDS) at ${formatPath(point.step)}`,
      );
      continue;
    }
    const url = typedConfig === undefined ? undefined : String(typedConfig['@type']);
    const messageName = url === undefined ? undefined : messageNameOf(url);
    let factory: ExtensionFactory | undefined;
    if (url !== undefined) factory = registry.findByTypeUrl(url, point.perRoute);
    // Envoy looks up by name when no type is given, or only an untyped Struct / Empty.
    const untyped =
      messageName === undefined ||
      messageName === 'google.protobuf.Empty' ||
      messageName === 'google.protobuf.Struct';
    if (factory === undefined && point.name !== undefined && untyped)
      factory = registry.findByName(point.name);
    const envoyName =
      (messageName !== undefined ? schema.extensionNameOf(messageName) : undefined) ??
      point.name ??
      messageName ??
      '<unnamed>';

    if (factory === undefined) {
      const where = formatPath(point.step);
      if (untyped && point.name !== undefined && schema.extensionConfigType(point.name) === undefined) {
        sink.error(
          point.step,
          `unknown extension '${point.name}': Envoy has no extension of that name, and ${url === undefined ? 'no typed_config was given' : `the untyped ${messageName} config names no type`}`,
        );
      } else if (url === undefined && point.name === undefined) {
        sink.error(point.step, 'an extension needs a typed_config (or at least a name)');
      } else if (optional) {
        sink.warn(point.step, `optional extension ${envoyName} is not supported by Legate and is skipped`);
      } else {
        sink.unsupported(point.step, `not supported by Legate: ${envoyName} at ${where}`);
      }
      continue;
    }

    if (point.category !== undefined && !point.perRoute && factory.category !== point.category) {
      sink.error(
        point.step,
        `${factory.name} is an extension of category ${factory.category} and cannot be used here, where the category is ${point.category}`,
      );
      continue;
    }

    let config: ProtoMessage | undefined = typedConfig;
    if (
      config === undefined ||
      messageName === 'google.protobuf.Empty' ||
      messageName === 'google.protobuf.Struct'
    ) {
      // Name only (`- name: envoy.filters.http.router`): Envoy uses the factory's empty config
      // proto, so the extension's own required fields still fail here if it has any. An
      // untyped Struct is read as that config type.
      const configType = factory.configTypes[0];
      if (configType === undefined) throw new Error(`bug: extension ${factory.name} declares no config type`);
      const struct = messageName === 'google.protobuf.Struct' ? config?.['value'] : undefined;
      config = decoder.decode(
        configType,
        struct ?? {},
        struct === undefined ? configStep : fieldStep(configStep, 'value'),
      );
      if (config === undefined) continue;
      config = { '@type': `type.googleapis.com/${configType}`, ...config };
    }

    const ctx: ExtensionContext = {
      step: configStep,
      error: (step, message) => sink.error(step, message),
      unsupported: (step, message) => sink.unsupported(step, message),
      warn: (step, message) => sink.warn(step, message),
      extensionOf: (owner) => extensions.get(owner),
      requireCluster: (name, step) => {
        clusterReferences.push({ name, step });
      },
    };
    const before = sink.errors.length;
    const built = factory.createConfig(config, ctx);
    if (sink.errors.length > before) continue;
    extensions.set(point.owner, {
      name: factory.name,
      category: factory.category,
      typeUrl: String(config['@type']),
      factory,
      config: built,
      perRoute: point.perRoute,
    });
  }
  return { extensions, clusterReferences };
}
