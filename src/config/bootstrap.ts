/**
 * Loads the bootstrap: `-c FILE` and/or `--config-yaml TEXT` -> one validated
 * `envoy.config.bootstrap.v3.Bootstrap`, every extension in it resolved, every issue found.
 *
 * Main thread, at start-up (and for `--mode validate`). Order, as in Envoy's
 * `InstanceUtil::loadBootstrapConfig`: read the file, read the flag's YAML, decode each
 * as a Bootstrap, merge the flag over the file (protobuf MergeFrom), then validate the
 * result; Legate then resolves extensions and makes the cross-checks Envoy makes when it
 * builds listeners and clusters (`bootstrap-checks.ts`).
 *
 * A file holding `resources:` (a filesystem xDS file such as `lds.yaml`) is read as a
 * DiscoveryResponse instead, so `--mode validate` can check those too.
 */

import { checkBootstrap, checkResources } from './bootstrap-checks.ts';
import { type ConfigIssue, IssueSink, rootPath } from './errors.ts';
import { resolveExtensions } from './extension-resolver.ts';
import { ProtoJsonDecoder } from './proto-json.ts';
import { protoSchema } from './proto-schema.ts';
import type { ExtensionRegistry } from './registry.ts';
import { type ConfigDocument, parseConfigText, readConfigFile } from './source.ts';
import type { ProtoMessage, ResolvedExtension } from './types.ts';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';
export const DISCOVERY_RESPONSE_TYPE = 'envoy.service.discovery.v3.DiscoveryResponse';

export interface ConfigSources {
  readonly configPath?: string;
  readonly configYaml?: string;
}

export interface LoadOptions {
  readonly registry: ExtensionRegistry;
  readonly allowUnknownFields?: boolean;
}

export interface LoadedConfig {
  /** `resources` when the file is a filesystem xDS DiscoveryResponse rather than a bootstrap. */
  readonly kind: 'bootstrap' | 'resources';
  /** The merged, decoded message (present even with errors, as far as it decoded). */
  readonly message: ProtoMessage | undefined;
  /** Resolved extensions, keyed by the message that names them (a Filter, a HttpFilter...). */
  readonly extensions: ReadonlyMap<ProtoMessage, ResolvedExtension>;
  readonly issues: readonly ConfigIssue[];
  /** Errors and unsupported extensions; empty means the config can run. */
  readonly errors: readonly ConfigIssue[];
  readonly warnings: readonly ConfigIssue[];
}

function isResourceFile(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    'resources' in value &&
    Object.keys(value).every((k) =>
      ['resources', 'version_info', 'versionInfo', 'type_url', 'typeUrl', 'nonce'].includes(k),
    )
  );
}

export function loadConfig(sources: ConfigSources, options: LoadOptions): LoadedConfig {
  const sink = new IssueSink();
  const schema = protoSchema();
  const decoder = new ProtoJsonDecoder(schema, sink, {
    allowUnknownFields: options.allowUnknownFields ?? false,
  });

  const docs: ConfigDocument[] = [];
  if (sources.configPath !== undefined && sources.configPath !== '') {
    const doc = readConfigFile(sources.configPath, sink);
    if (doc !== undefined) docs.push(doc);
  }
  if (sources.configYaml !== undefined && sources.configYaml !== '') {
    const doc = parseConfigText(sources.configYaml, '<--config-yaml>', sink);
    if (doc !== undefined) docs.push(doc);
  }
  if (docs.length === 0 && sink.errors.length === 0)
    sink.error(undefined, 'no configuration given (-c or --config-yaml)');

  const kind = docs.length === 1 && isResourceFile(docs[0]?.value) ? 'resources' : 'bootstrap';
  const typeName = kind === 'resources' ? DISCOVERY_RESPONSE_TYPE : BOOTSTRAP_TYPE;

  // Envoy validates after merging, so a rule may be met by either document.
  const merging = docs.length > 1;
  decoder.validating = !merging;
  let message: ProtoMessage | undefined;
  for (const doc of docs) {
    sink.locate = doc.locate;
    const decoded = decoder.decode(typeName, doc.value, rootPath());
    if (decoded === undefined) continue;
    message = message === undefined ? decoded : decoder.merge(typeName, message, decoded);
  }
  // Paths after merging are located in the file when there is just one document.
  sink.locate = merging ? undefined : docs[0]?.locate;
  decoder.validating = true;
  if (merging && message !== undefined) decoder.validate(typeName, message, rootPath());

  const resolution = resolveExtensions(decoder.extensionPoints, options.registry, schema, decoder, sink);
  if (message !== undefined) {
    if (kind === 'bootstrap') checkBootstrap(message, resolution, sink);
    else checkResources(message, sink);
  }
  return {
    kind,
    message,
    extensions: resolution.extensions,
    issues: sink.issues,
    errors: sink.errors,
    warnings: sink.warnings,
  };
}
