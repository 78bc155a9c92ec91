/**
 * Envoy's tag extraction: turns a flat stat name into a tag-extracted name and its tags
 * (`cluster.backend.upstream_rq_2xx` -> `cluster.upstream_rq_xx` with
 * `envoy.response_code_class=2` and `envoy.cluster_name=backend`), as the Prometheus
 * output and tagged sinks need.
 *
 * Main thread (the admin and the sinks call it with merged stat names); a producer caches
 * each name's result, so the extractors run once per stat. Owns the default extractors
 * (`DEFAULT_RE2_TAGS`, `DEFAULT_TOKEN_TAGS`), the bootstrap's `stats_config.stats_tags`
 * and `use_all_default_tags`, and `--stats-tag`. Envoy counterpart: `TagProducerImpl`
 * (source/common/stats/tag_producer_impl.cc), `TagExtractorRe2Impl`,
 * `TagExtractorStdRegexImpl`, `TagExtractorTokensImpl`, `TagExtractorFixedImpl`
 * (tag_extractor_impl.cc) and `Config::TagNameValues` (well_known_names.cc).
 *
 * Semantics kept from Envoy:
 * - every extractor looks at the original name, never at what another one left; the
 *   characters each one claims are removed together at the end;
 * - a regex's first group is the text removed, its second (if any) the tag value;
 * - the default regexes run on RE2 (`re2js`), the bootstrap's on ECMAScript regexes
 *   (Envoy's `std::regex`), so each reads a pattern as Envoy would;
 * - a token pattern splits on `.`: `*` is one token, `**` any number (at least one at the
 *   end), `$` the one token taken as the value, removed with the dot after it (or before
 *   it when last);
 * - extractors whose pattern starts with a literal first token only see names with that
 *   first token; they run after the extractors that can see every name, each group in
 *   the order it was configured, which is the order of the tags;
 * - two extractors may share a tag name: the first that matches wins.
 */
import { RE2JS } from 're2js';
import { formatPath, type PathStep } from '../config/errors.ts';
import { at, boolField, messageList, stringField } from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';

export interface Tag {
  readonly name: string;
  readonly value: string;
}

/** A stat name with its tags taken out. */
export interface TaggedName {
  readonly tagExtractedName: string;
  readonly tags: readonly Tag[];
}

/** One stat name being tagged: the name, and its tokens split on `.` when an extractor asks. */
export class TagExtractionContext {
  readonly name: string;
  private split: readonly string[] | undefined;

  constructor(name: string) {
    this.name = name;
  }

  tokens(): readonly string[] {
    this.split ??= this.name.split('.');
    return this.split;
  }
}

/** The character ranges `[start, end)` that extractors claimed; overlapping ranges merge. */
export class RemovedRanges {
  private readonly ranges: Array<[number, number]> = [];

  add(start: number, end: number): void {
    if (end > start) this.ranges.push([start, end]);
  }

  /** `name` without the claimed characters. */
  apply(name: string): string {
    if (this.ranges.length === 0) return name;
    this.ranges.sort((a, b) => a[0] - b[0]);
    let out = '';
    let pos = 0;
    for (const [start, end] of this.ranges) {
      if (start > pos) out += name.slice(pos, start);
      if (end > pos) pos = end;
    }
    return out + name.slice(pos);
  }
}

export interface TagExtractor {
  /** The tag's name (`envoy.cluster_name`). */
  readonly name: string;
  /** The first token of the names this extractor can match; '' when it may match any. */
  readonly prefixToken: string;
  /** Appends the tag and claims the characters to remove when the name matches. */
  extractTag(context: TagExtractionContext, tags: Tag[], removed: RemovedRanges): boolean;
}

/**
 * The literal first token of an anchored pattern (`^cluster\.` -> `cluster`), or ''.
 * Envoy's `extractRegexPrefix`: the token must be followed by `\.`, `(?=\.)`, or end the
 * pattern with `$`.
 */
export function regexPrefixToken(regex: string): string {
  if (!regex.startsWith('^')) return '';
  for (let i = 1; i < regex.length; i++) {
    const c = regex[i]!;
    if (/[A-Za-z0-9_]/.test(c)) continue;
    if (i === 1) return '';
    const rest = regex.slice(i);
    const last = i === regex.length - 1;
    if ((!last && (rest.startsWith('\\.') || rest.startsWith('(?=\\.)'))) || (last && c === '$')) {
      return regex.slice(1, i);
    }
    return '';
  }
  return '';
}

/** Whether a regex extractor is skipped because the name lacks its required substring. */
function substrMismatch(substr: string, name: string): boolean {
  return substr !== '' && !name.includes(substr);
}

/** A default extractor: an RE2 pattern with two groups (removed text, value). Envoy's `TagExtractorRe2Impl`. */
class Re2TagExtractor implements TagExtractor {
  readonly name: string;
  readonly prefixToken: string;
  private readonly re: RE2JS;
  private readonly substr: string;
  private readonly negativeMatch: string;

  constructor(name: string, regex: string, substr: string, negativeMatch: string) {
    this.name = name;
    this.prefixToken = regexPrefixToken(regex);
    this.re = RE2JS.compile(regex);
    this.substr = substr;
    this.negativeMatch = negativeMatch;
  }

  extractTag(context: TagExtractionContext, tags: Tag[], removed: RemovedRanges): boolean {
    const name = context.name;
    if (substrMismatch(this.substr, name)) return false;
    // RE2::PartialMatch with two outputs: a pattern with fewer groups never matches.
    if (this.re.groupCount() < 2) return false;
    const m = this.re.matcher(name);
    if (!m.find()) return false;
    const remove = m.group(1) ?? '';
    if (remove === '') return false;
    let value = m.group(2) ?? '';
    if (value === '') value = remove;
    if (this.negativeMatch !== '' && value === this.negativeMatch) return false;
    tags.push({ name: this.name, value });
    removed.add(m.start(1), m.end(1));
    return true;
  }
}

/** A bootstrap `stats_tags` regex (ECMAScript, as Envoy's `std::regex`). Envoy's `TagExtractorStdRegexImpl`. */
class StdRegexTagExtractor implements TagExtractor {
  readonly name: string;
  readonly prefixToken: string;
  private readonly re: RegExp;
  private readonly substr: string;

  constructor(name: string, regex: string, substr: string) {
    this.name = name;
    this.prefixToken = regexPrefixToken(regex);
    // `d` gives the groups' offsets.
    this.re = new RegExp(regex, 'd');
    this.substr = substr;
  }

  extractTag(context: TagExtractionContext, tags: Tag[], removed: RemovedRanges): boolean {
    const name = context.name;
    if (substrMismatch(this.substr, name)) return false;
    const m = this.re.exec(name);
    // The regex must match and have at least one group.
    if (m === null || m.length < 2) return false;
    const removeRange = m.indices?.[1];
    const valueIndex = m.length > 2 ? 2 : 1;
    tags.push({ name: this.name, value: m[valueIndex] ?? '' });
    if (removeRange !== undefined) removed.add(removeRange[0], removeRange[1]);
    return true;
  }
}

/** A token pattern such as `cluster.$.**`. Envoy's `TagExtractorTokensImpl`. */
class TokensTagExtractor implements TagExtractor {
  readonly name: string;
  readonly prefixToken: string;
  private readonly pattern: readonly string[];
  private readonly matchIndex: number;

  constructor(name: string, pattern: string) {
    this.name = name;
    this.pattern = pattern.split('.');
    this.matchIndex = this.pattern.indexOf('$');
    if (this.matchIndex < 0) throw new Error(`bug: token pattern '${pattern}' has no '$'`);
    const first = this.pattern[0]!;
    this.prefixToken = first === '$' || first === '*' || first === '**' ? '' : first;
  }

  extractTag(context: TagExtractionContext, tags: Tag[], removed: RemovedRanges): boolean {
    const tokens = context.tokens();
    const found = { start: 0, index: -1 };
    if (!this.search(tokens, 0, 0, 0, found)) return false;
    const value = tokens[found.index]!;
    let start = found.start;
    let end = start + value.length;
    // Remove the dot after the value, or before it when it is the last token.
    if (found.index < tokens.length - 1) end++;
    else if (start > 0) start--;
    tags.push({ name: this.name, value });
    removed.add(start, end);
    return true;
  }

  /** Matches tokens from `input` against the pattern from `at`; `chars` is the input token's offset. */
  private search(
    tokens: readonly string[],
    input: number,
    at: number,
    chars: number,
    found: { start: number; index: number },
  ): boolean {
    const pattern = this.pattern;
    for (; input < tokens.length && at < pattern.length; input++, at++) {
      if (at === this.matchIndex) {
        found.start = chars;
        found.index = input;
        chars += tokens[input]!.length + 1;
        continue;
      }
      const expected = pattern[at]!;
      if (expected === '**') {
        // At the end: the rest of the name, at least one token.
        if (at === pattern.length - 1) return true;
        // Elsewhere: the rest of the pattern must match from some later token.
        for (; input < tokens.length; input++) {
          if (this.search(tokens, input, at + 1, chars, found)) return true;
          chars += tokens[input]!.length + 1;
        }
        return false;
      }
      const token = tokens[input]!;
      if (expected !== '*' && expected !== token) return false;
      chars += token.length + 1;
    }
    return at === pattern.length && input === tokens.length;
  }
}

/** A tag every stat gets (`fixed_value`, `--stats-tag`). Envoy's `TagExtractorFixedImpl`. */
class FixedTagExtractor implements TagExtractor {
  readonly name: string;
  readonly prefixToken: string;
  private readonly value: string;

  constructor(name: string, value: string) {
    this.name = name;
    this.value = value;
    // Envoy derives the prefix from the value as if it were a regex.
    this.prefixToken = regexPrefixToken(value);
  }

  extractTag(_context: TagExtractionContext, tags: Tag[]): boolean {
    tags.push({ name: this.name, value: this.value });
    return true;
  }
}

/** Pieces shared by the default regexes. */
const REGEX_PARTS: ReadonlyArray<[string, string]> = [
  // An IPv4 or bracketed IPv6 address (colons as underscores), then `_port`.
  ['<ADDRESS>', String.raw`(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`],
  ['<CIPHER>', String.raw`[\w-]+`],
  ['<TLS_VERSION>', String.raw`TLSv\d\.\d`],
  ['<TAG_VALUE>', String.raw`[^\.]+`],
  ['<ROUTE_CONFIG_NAME>', String.raw`[\w-\.]+`],
  ['<LISTENER_OR_CLUSTER_WITH_NAME>', String.raw`(?:listener|cluster)\..*?`],
];

function expand(regex: string): string {
  let out = regex;
  for (const [placeholder, part] of REGEX_PARTS) out = out.replaceAll(placeholder, part);
  return out;
}

interface Re2Descriptor {
  readonly name: string;
  readonly regex: string;
  /** The name must contain it for the regex to be tried. */
  readonly substr: string;
  /** A value that does not make a tag. */
  readonly negativeMatch?: string;
}

/** Envoy's default RE2 extractors, in Envoy's order (most specific first). */
export const DEFAULT_RE2_TAGS: readonly Re2Descriptor[] = [
  // *_rq(_<response_code>)
  { name: 'envoy.response_code', regex: String.raw`_rq(_(\d{3}))$`, substr: '_rq_' },
  // *_rq_(<response_code_class>)xx
  { name: 'envoy.response_code_class', regex: String.raw`_rq_((\d))xx$`, substr: '_rq_' },
  // http.[<stat_prefix>.]dynamodb.table.[<table>.]capacity.[<operation>.](__partition_id=<id>)
  {
    name: 'envoy.dynamo_partition_id',
    regex: String.raw`^http\.<TAG_VALUE>\.dynamodb\.table\.<TAG_VALUE>\.capacity\.<TAG_VALUE>(\.__partition_id=(\w{7}))$`,
    substr: '.dynamodb.table.',
  },
  // http.[<stat_prefix>.]dynamodb.operation.(<operation>.)* or ...table.[<table>.]capacity.(<operation>.)*
  {
    name: 'envoy.dynamo_operation',
    regex: String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:operation|table\.<TAG_VALUE>\.capacity)(\.(<TAG_VALUE>))(?:\.|$)`,
    substr: '.dynamodb.',
  },
  // http.[<stat_prefix>.]dynamodb.table.(<table>.)* or http.[<stat_prefix>.]dynamodb.error.(<table>.)*
  {
    name: 'envoy.dynamo_table',
    regex: String.raw`^http\.<TAG_VALUE>\.dynamodb.(?:table|error)\.((<TAG_VALUE>)\.)`,
    substr: '.dynamodb.',
  },
  // listener.[<address>.]ssl.ciphers.(<cipher>)
  {
    name: 'envoy.ssl_cipher',
    regex: String.raw`^listener\..*?\.ssl\.ciphers(\.(<CIPHER>))$`,
    substr: '.ssl.ciphers.',
  },
  // (listener|cluster).[<name>.]ssl.curves.(<curve>)
  {
    name: 'envoy.ssl_curve',
    regex: String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.curves(\.(<CIPHER>))$`,
    substr: '.ssl.curves.',
  },
  // (listener|cluster).[<name>.]ssl.sigalgs.(<algorithm>)
  {
    name: 'envoy.ssl_sigalg',
    regex: String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.sigalgs(\.(<CIPHER>))$`,
    substr: '.ssl.sigalgs.',
  },
  // (listener|cluster).[<name>.]ssl.versions.(<version>)
  {
    name: 'envoy.ssl_version',
    regex: String.raw`^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.versions(\.(<TLS_VERSION>))$`,
    substr: '.ssl.versions.',
  },
  // cluster.[<cluster_name>.]ssl.ciphers.(<cipher>)
  {
    name: 'cipher_suite',
    regex: String.raw`^cluster\.<TAG_VALUE>\.ssl\.ciphers(\.(<CIPHER>))$`,
    substr: '.ssl.ciphers.',
  },
  // listener.[<address>.]http.(<stat_prefix>.)*
  {
    name: 'envoy.http_conn_manager_prefix',
    regex: String.raw`^listener\..*?\.http\.((<TAG_VALUE>)\.)`,
    substr: '.http.',
  },
  // listener.<address|stat_prefix>.worker_(<id>.)*, listener_manager.worker_(<id>.)*, server.worker_(<id>.)*
  {
    name: 'envoy.worker_id',
    regex: String.raw`^(?:listener\.(?:<ADDRESS>|<TAG_VALUE>)\.|server\.|listener_manager\.)worker_((\d+)\.)`,
    substr: '',
  },
  // listener.(<address|stat_prefix>.)*, except the admin listener
  {
    name: 'envoy.listener_address',
    regex: String.raw`^listener\.((<ADDRESS>|<TAG_VALUE>)\.)`,
    substr: '',
    negativeMatch: 'admin',
  },
  // http.[<stat_prefix>.]rds.(<route_config_name>.)<base_stat>
  {
    name: 'envoy.rds_route_config',
    regex: String.raw`^http\.<TAG_VALUE>\.rds\.((<ROUTE_CONFIG_NAME>)\.)\w+?$`,
    substr: '.rds.',
  },
].map((d) => ({ ...d, regex: expand(d.regex) }));

/** Envoy's default token-pattern extractors, in Envoy's order. */
export const DEFAULT_TOKEN_TAGS: ReadonlyArray<{ readonly name: string; readonly pattern: string }> = [
  { name: 'envoy.mongo_callsite', pattern: 'mongo.*.collection.*.callsite.$.query.**' },
  { name: 'envoy.mongo_collection', pattern: 'mongo.*.collection.$.**.query.*' },
  { name: 'envoy.mongo_cmd', pattern: 'mongo.*.cmd.$.**' },
  { name: 'envoy.grpc_bridge_method', pattern: 'cluster.*.grpc.*.$.**' },
  { name: 'envoy.http_user_agent', pattern: 'http.*.user_agent.$.**' },
  { name: 'envoy.virtual_cluster', pattern: 'vhost.*.vcluster.$.**' },
  { name: 'envoy.fault_downstream_cluster', pattern: 'http.*.fault.$.**' },
  { name: 'envoy.grpc_bridge_service', pattern: 'cluster.*.grpc.$.**' },
  { name: 'envoy.tcp_prefix', pattern: 'tcp.$.**' },
  { name: 'envoy.udp_prefix', pattern: 'udp.$.**' },
  { name: 'envoy.clientssl_prefix', pattern: 'auth.clientssl.$.**' },
  { name: 'envoy.ratelimit_prefix', pattern: 'ratelimit.$.**' },
  { name: 'envoy.cluster_name', pattern: 'cluster.$.**' },
  { name: 'envoy.ext_authz_prefix', pattern: 'cluster.*.ext_authz.$.**' },
  { name: 'envoy.ext_authz_prefix', pattern: 'http.*.ext_authz.$.**' },
  { name: 'envoy.http_conn_manager_prefix', pattern: 'http.$.**' },
  { name: 'envoy.virtual_host', pattern: 'vhost.$.**' },
  { name: 'envoy.mongo_prefix', pattern: 'mongo.$.**' },
  { name: 'envoy.route', pattern: 'vhost.*.route.$.**' },
  { name: 'envoy.thrift_prefix', pattern: 'thrift.$.**' },
  { name: 'envoy.redis_prefix', pattern: 'redis.$.**' },
  { name: 'envoy.local_http_ratelimit_prefix', pattern: '$.http_local_rate_limit.**' },
  { name: 'envoy.local_network_ratelimit_prefix', pattern: 'local_rate_limit.$.**' },
  { name: 'envoy.local_listener_ratelimit_prefix', pattern: 'listener_local_ratelimit.$.**' },
  { name: 'envoy.dns_filter_prefix', pattern: 'dns_filter.$.**' },
];

/**
 * A regex extractor: `re2` for Envoy's defaults, `std` (ECMAScript) for configured ones.
 * Throws with Envoy's message when the name or regex is empty or the regex does not compile.
 */
export function createTagExtractor(
  name: string,
  regex: string,
  options: { substr?: string; negativeMatch?: string; engine?: 're2' | 'std' } = {},
): TagExtractor {
  if (name === '') throw new Error('tag_name cannot be empty');
  if (regex === '') {
    throw new Error(`No regex specified for tag specifier and no default regex for name: '${name}'`);
  }
  try {
    if (options.engine === 're2') {
      return new Re2TagExtractor(name, regex, options.substr ?? '', options.negativeMatch ?? '');
    }
    return new StdRegexTagExtractor(name, regex, options.substr ?? '');
  } catch (e) {
    throw new Error(`Invalid regex '${regex}': ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** One `stats_config.stats_tags` entry: a regex, a fixed value, or neither (a default extractor by name). */
export interface TagSpecifier {
  readonly name: string;
  readonly regex?: string;
  readonly fixedValue?: string;
}

export interface TagProducerOptions {
  /** `stats_config.use_all_default_tags` (default true). */
  readonly useAllDefaultTags?: boolean;
  /** `--stats-tag name:value`, in the order given. */
  readonly fixedTags?: readonly Tag[];
  readonly specifiers?: readonly TagSpecifier[];
}

/** Holds an extractor and whether another one has the same tag name. */
interface Entry {
  readonly extractor: TagExtractor;
  shared: boolean;
}

/** Every stat name's tags, from the configured extractors. Envoy's `TagProducerImpl`. */
export class TagProducer {
  private readonly withoutPrefix: Entry[] = [];
  private readonly byPrefix = new Map<string, Entry[]>();
  private readonly byName = new Map<string, Entry>();
  private readonly cache = new Map<string, TaggedName>();

  constructor(options: TagProducerOptions = {}) {
    if (options.useAllDefaultTags ?? true) {
      for (const d of DEFAULT_RE2_TAGS) this.addDefaultRe2(d);
      for (const d of DEFAULT_TOKEN_TAGS) this.addExtractor(new TokensTagExtractor(d.name, d.pattern));
    }
    for (const t of options.fixedTags ?? []) this.addExtractor(new FixedTagExtractor(t.name, t.value));
    for (const s of options.specifiers ?? []) this.addSpecifier(s);
  }

  /** Adds one `stats_tags` entry; throws with Envoy's message when it cannot be built. */
  addSpecifier(spec: TagSpecifier): void {
    if (spec.fixedValue !== undefined) {
      this.addExtractor(new FixedTagExtractor(spec.name, spec.fixedValue));
      return;
    }
    if (spec.regex !== undefined && spec.regex !== '') {
      this.addExtractor(createTagExtractor(spec.name, spec.regex));
      return;
    }
    // No regex: the default extractors of that name.
    let found = 0;
    for (const d of DEFAULT_RE2_TAGS) {
      if (d.name !== spec.name) continue;
      this.addDefaultRe2(d);
      found++;
    }
    for (const d of DEFAULT_TOKEN_TAGS) {
      if (d.name !== spec.name) continue;
      this.addExtractor(new TokensTagExtractor(d.name, d.pattern));
      found++;
    }
    if (found === 0) {
      throw new Error(`No regex specified for tag specifier and no default regex for name: '${spec.name}'`);
    }
  }

  addExtractor(extractor: TagExtractor): void {
    const entry: Entry = { extractor, shared: false };
    const other = this.byName.get(extractor.name);
    if (other === undefined) {
      this.byName.set(extractor.name, entry);
    } else {
      other.shared = true;
      entry.shared = true;
    }
    if (extractor.prefixToken === '') {
      this.withoutPrefix.push(entry);
    } else {
      let list = this.byPrefix.get(extractor.prefixToken);
      if (list === undefined) {
        list = [];
        this.byPrefix.set(extractor.prefixToken, list);
      }
      list.push(entry);
    }
  }

  /** The tag-extracted name and tags of `name` (computed once per name). */
  produceTags(name: string): TaggedName {
    let tagged = this.cache.get(name);
    if (tagged === undefined) {
      tagged = this.compute(name);
      this.cache.set(name, tagged);
    }
    return tagged;
  }

  private compute(name: string): TaggedName {
    const context = new TagExtractionContext(name);
    const removed = new RemovedRanges();
    const tags: Tag[] = [];
    const matchedShared = new Set<string>();
    const run = (entries: readonly Entry[]): void => {
      for (const { extractor, shared } of entries) {
        if (shared && matchedShared.has(extractor.name)) continue;
        if (extractor.extractTag(context, tags, removed) && shared) matchedShared.add(extractor.name);
      }
    };
    run(this.withoutPrefix);
    const dot = name.indexOf('.');
    if (dot >= 0) {
      const list = this.byPrefix.get(name.slice(0, dot));
      if (list !== undefined) run(list);
    }
    return { tagExtractedName: removed.apply(name), tags };
  }

  private addDefaultRe2(d: Re2Descriptor): void {
    this.addExtractor(
      createTagExtractor(d.name, d.regex, {
        substr: d.substr,
        negativeMatch: d.negativeMatch,
        engine: 're2',
      }),
    );
  }
}

/**
 * The producer the bootstrap asks for: `stats_config` (`use_all_default_tags`,
 * `stats_tags`) and the `--stats-tag` flags. Throws an Error whose message starts with the
 * offending field's path.
 */
export function tagProducerFromConfig(
  statsConfig: ProtoMessage | undefined,
  cliTags: readonly Tag[] = [],
): TagProducer {
  const { producer, problems } = buildTagProducer(statsConfig, cliTags);
  const first = problems[0];
  if (first !== undefined) throw new Error(`${formatPath(first.step)}: ${first.message}`);
  return producer;
}

/** Every problem of `stats_config.stats_tags`, each at its field (`--mode validate` reports them). */
export function statsTagsProblems(
  statsConfig: ProtoMessage | undefined,
): Array<{ step: PathStep | undefined; message: string }> {
  return buildTagProducer(statsConfig, []).problems;
}

function buildTagProducer(
  statsConfig: ProtoMessage | undefined,
  cliTags: readonly Tag[],
): { producer: TagProducer; problems: Array<{ step: PathStep | undefined; message: string }> } {
  const producer = new TagProducer({
    useAllDefaultTags: boolField(statsConfig, 'use_all_default_tags', true),
    fixedTags: cliTags,
  });
  const problems: Array<{ step: PathStep | undefined; message: string }> = [];
  messageList(statsConfig, 'stats_tags').forEach((spec, i) => {
    const name = stringField(spec, 'tag_name');
    const hasFixed = spec['fixed_value'] !== undefined;
    const regex = stringField(spec, 'regex');
    try {
      producer.addSpecifier(
        hasFixed ? { name, fixedValue: stringField(spec, 'fixed_value') } : { name, regex },
      );
    } catch (e) {
      const field = hasFixed ? 'fixed_value' : regex !== '' ? 'regex' : 'tag_name';
      problems.push({
        step: at(undefined, 'stats_config', 'stats_tags', i, field),
        message: (e as Error).message,
      });
    }
  });
  return { producer, problems };
}
