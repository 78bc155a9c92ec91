/**
 * Extensions configured inside another extension's config (the HTTP filters of a
 * connection manager, the access logs of a tcp_proxy, a cluster's upstream HTTP filters,
 * an access log format's formatters), as the outer internal config carries them.
 *
 * Main thread, while a config loads. The resolver builds inner extensions first, so the
 * outer factory only collects what was built; an entry that could not be resolved has
 * been reported by the resolver (or, when optional, skipped with a warning) and is left
 * out. Envoy counterpart: each config consumer's own `Config::Utility::getAndCheckFactory`
 * call for its nested `TypedExtensionConfig`s.
 */

import { messageList, stringField } from '../../config/proto-fields.ts';
import type { ExtensionContext, ProtoMessage } from '../../config/types.ts';

export interface NestedExtension {
  /** The `name` given beside the config (may be empty where the message has none). */
  readonly name: string;
  /** The extension that implements it, e.g. `envoy.filters.http.router`. */
  readonly extension: string;
  readonly typeUrl: string;
  /** What the extension's factory built. */
  readonly config: unknown;
}

/** The built extension of one `name` + `typed_config` message, if the resolver built it. */
export function nestedExtensionOf(owner: ProtoMessage, ctx: ExtensionContext): NestedExtension | undefined {
  const resolved = ctx.extensionOf(owner);
  if (resolved === undefined) return undefined;
  return {
    name: stringField(owner, 'name'),
    extension: resolved.name,
    typeUrl: resolved.typeUrl,
    config: resolved.config,
  };
}

/** The built extensions of a repeated field, in order, leaving out the unresolved ones. */
export function nestedExtensionsOf(
  m: ProtoMessage | undefined,
  field: string,
  ctx: ExtensionContext,
): NestedExtension[] {
  const built: NestedExtension[] = [];
  for (const owner of messageList(m, field)) {
    const ext = nestedExtensionOf(owner, ctx);
    if (ext !== undefined) built.push(ext);
  }
  return built;
}
