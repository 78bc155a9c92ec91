/**
 * Command-line options: turns `argv` into a validated, immutable `Options` value, or into
 * an action (`--help`, `--version`, `--hot-restart-version`), or into a one-line error
 * with the exit code the process should use. Flag names, defaults and checks are Envoy's,
 * so an Envoy command line works unchanged.
 *
 * Main thread only, once at start-up. A pure function: it prints nothing and never exits;
 * the caller (the exe layer) does both. Envoy counterpart: `OptionsImpl` in
 * source/server/options_impl.cc (TCLAP based). Like TCLAP, flags are processed in order
 * (so `--help` wins only over what follows it), a flag given twice is an error, and `--`
 * ignores the rest of the command line. Unlike TCLAP, `--flag=value` is accepted as well
 * as `--flag value`.
 */

import { availableParallelism } from 'node:os';
import pkg from '../../package.json' with { type: 'json' };
import {
  DEFAULT_LOG_FORMAT,
  LOG_LEVELS,
  LOGGER_IDS,
  type LoggerId,
  type LogLevel,
} from '../common/log-types.ts';

export { DEFAULT_LOG_FORMAT, LOG_LEVELS, LOGGER_IDS, type LoggerId, type LogLevel };

/** Legate's version, from package.json; what `--version` prints. */
export const LEGATE_VERSION: string = pkg.version;

export const MODES = ['serve', 'validate', 'init_only'] as const;
/** `--mode`: serve traffic, validate the config and exit, or initialise and exit. */
export type Mode = (typeof MODES)[number];

const LOG_LEVEL_INPUTS = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'critical', 'off'] as const;

export const DRAIN_STRATEGIES = ['gradual', 'immediate'] as const;
export type DrainStrategy = (typeof DRAIN_STRATEGIES)[number];

export const IP_VERSIONS = ['v4', 'v6'] as const;
export type IpVersion = (typeof IP_VERSIONS)[number];

/** One `--stats-tag name:value`. */
export interface StatsTag {
  readonly name: string;
  readonly value: string;
}

/** The parsed command line. Every flag has a property, defaults filled in. */
export interface Options {
  /** `-c`/`--config-path`: bootstrap file path ('' when not given). */
  readonly configPath: string;
  /** `--config-yaml`: inline bootstrap YAML, merged over the file ('' when not given). */
  readonly configYaml: string;
  /** `--mode`: serve | validate | init_only. */
  readonly mode: Mode;
  /** `--concurrency`, effective: worker thread count, at least 1 (Envoy: max(1, value)). */
  readonly concurrency: number;
  /** `--concurrency` as given (may be 0), or the CPU count when absent. */
  readonly concurrencyRaw: number;
  /** `-l`/`--log-level`, with `warn` normalised to `warning`. */
  readonly logLevel: LogLevel;
  /** `--component-log-level`, parsed; a component named twice keeps its last level. */
  readonly componentLogLevels: ReadonlyMap<LoggerId, LogLevel>;
  /** `--component-log-level` exactly as given ('' when absent), for /server_info. */
  readonly componentLogLevelString: string;
  /** `--log-path`: application log file ('' means stderr). */
  readonly logPath: string;
  /** `--log-format`: spdlog-style application log format. */
  readonly logFormat: string;
  /** `--log-format-escaped`: escape C-style escape sequences in log messages. */
  readonly logFormatEscaped: boolean;
  /** `--enable-fine-grain-logging`: per-file log control instead of per-component. */
  readonly enableFineGrainLogging: boolean;
  /** `--base-id`: base id separating hot-restart domains of several instances on one host. */
  readonly baseId: number;
  /** `--use-dynamic-base-id`: pick an unused base id at start-up (supersedes `--base-id`). */
  readonly useDynamicBaseId: boolean;
  /** `--base-id-path`: file the chosen base id is written to ('' when not given). */
  readonly baseIdPath: string;
  /** `--restart-epoch`: hot restart epoch (0 for the first process). */
  readonly restartEpoch: number;
  /** `--disable-hot-restart`: no hot restart machinery at all. */
  readonly disableHotRestart: boolean;
  /** `--drain-time-s`: hot restart and listener removal drain time, seconds. */
  readonly drainTimeS: number;
  /** `--drain-strategy`: gradual | immediate. */
  readonly drainStrategy: DrainStrategy;
  /** `--parent-shutdown-time-s`: when a hot-restart child shuts its parent down, seconds. */
  readonly parentShutdownTimeS: number;
  /** `--file-flush-interval-msec`: access/application log flush interval, milliseconds. */
  readonly fileFlushIntervalMsec: number;
  /** `--service-cluster`: local cluster name (node.cluster), '' when not given. */
  readonly serviceCluster: string;
  /** `--service-node`: local node id (node.id), '' when not given. */
  readonly serviceNode: string;
  /** `--service-zone`: local zone (node.locality.zone), '' when not given. */
  readonly serviceZone: string;
  /** `--local-address-ip-version`: v4 | v6, the family of the local address. */
  readonly localAddressIpVersion: IpVersion;
  /** `--admin-address-path`: file the admin listener's address is written to. */
  readonly adminAddressPath: string;
  /** `--allow-unknown-static-fields`: tolerate unknown fields in the bootstrap. */
  readonly allowUnknownStaticFields: boolean;
  /** `--reject-unknown-dynamic-fields`: reject unknown fields in xDS resources. */
  readonly rejectUnknownDynamicFields: boolean;
  /** `--ignore-unknown-dynamic-fields`: ignore unknown fields in xDS resources silently. */
  readonly ignoreUnknownDynamicFields: boolean;
  /** `--disable-extensions`: extension names to disable (empty entries dropped). */
  readonly disabledExtensions: readonly string[];
  /** `--stats-tag` (repeatable): fixed tags added to every stat, in the order given. */
  readonly statsTags: readonly StatsTag[];
  /** `--socket-path`: hot restart domain socket path ('@' prefix = abstract namespace). */
  readonly socketPath: string;
  /** `--socket-mode`: hot restart socket permission bits, parsed from octal (e.g. 0o600). */
  readonly socketMode: number;
  /** `--enable-core-dump`: allow core dumps. */
  readonly enableCoreDump: boolean;
  /** `--cpuset-threads`: size the default concurrency from the cpuset (the caller's `cpus`). */
  readonly cpusetThreads: boolean;
  /** `--enable-mutex-tracing`: mutex contention tracing. */
  readonly enableMutexTracing: boolean;
  /**
   * `--admin-readonly-address` (a Legate extension): where a second admin listener serves
   * only `/ready`, `/stats` and `/stats/prometheus`; undefined when not given.
   */
  readonly adminReadonlyAddress: { readonly host: string; readonly port: number } | undefined;
}

/**
 * What `parseOptions` decided. `run`: start with these options. `help`/`version`: print
 * `helpText()`/`versionText()` and exit 0. `hot-restart-version`: print the hot restart
 * compatibility version (it depends on `options.disableHotRestart`) and exit 0. Not ok:
 * print `error` (one line) and exit with `exitCode`.
 */
export type ParseResult =
  | { readonly ok: true; readonly action: 'run'; readonly options: Options }
  | { readonly ok: true; readonly action: 'help' }
  | { readonly ok: true; readonly action: 'version' }
  | { readonly ok: true; readonly action: 'hot-restart-version'; readonly options: Options }
  | { readonly ok: false; readonly error: string; readonly exitCode: number };

/** The host facts defaults depend on; `cpus` defaults to `os.availableParallelism()`. */
export interface ParseEnv {
  readonly cpus: number;
}

type FlagKind = 'value' | 'switch' | 'help' | 'version';

interface FlagSpec {
  /** Long name without the leading `--`. */
  readonly name: string;
  /** One-letter short name without the leading `-`. */
  readonly short?: string;
  readonly kind: FlagKind;
  /** What the value is, as the usage text shows it (`string`, `uint32_t`). */
  readonly valueType?: string;
  readonly repeatable?: boolean;
  readonly description: string;
  /** The default as the usage text shows it; `undefined` for switches and actions. */
  readonly defaultText?: string;
}

const CPUS_DEFAULT = '\0cpus';

const FLAGS: readonly FlagSpec[] = [
  {
    name: 'config-path',
    short: 'c',
    kind: 'value',
    valueType: 'string',
    description: 'Path to configuration file',
    defaultText: "''",
  },
  {
    name: 'config-yaml',
    kind: 'value',
    valueType: 'string',
    description:
      'YAML string for a bootstrap configuration. If --config-path is also set, the values in this ' +
      'YAML string will override and merge with the bootstrap loaded from --config-path.',
    defaultText: "''",
  },
  {
    name: 'mode',
    kind: 'value',
    valueType: 'string',
    description:
      "One of 'serve' (default; validate configs and then serve traffic normally), 'validate' " +
      "(validate configs and exit) or 'init_only' (initialize the server and exit).",
    defaultText: 'serve',
  },
  {
    name: 'concurrency',
    kind: 'value',
    valueType: 'uint32_t',
    description: '# of worker threads to run (0 means 1)',
    defaultText: CPUS_DEFAULT,
  },
  {
    name: 'log-level',
    short: 'l',
    kind: 'value',
    valueType: 'string',
    description: 'Log levels: [trace][debug][info][warning|warn][error][critical][off]',
    defaultText: '[info]',
  },
  {
    name: 'component-log-level',
    kind: 'value',
    valueType: 'string',
    description: 'Comma-separated list of component log levels. For example upstream:debug,config:trace',
    defaultText: "''",
  },
  {
    name: 'log-path',
    kind: 'value',
    valueType: 'string',
    description: 'Path to logfile',
    defaultText: "'' (stderr)",
  },
  {
    name: 'log-format',
    kind: 'value',
    valueType: 'string',
    description:
      'Log message format in spdlog syntax (see https://github.com/gabime/spdlog/wiki/3.-Custom-formatting)',
    defaultText: `"${DEFAULT_LOG_FORMAT}"`,
  },
  {
    name: 'log-format-escaped',
    kind: 'switch',
    description: 'Escape c-style escape sequences in the application logs',
  },
  {
    name: 'enable-fine-grain-logging',
    kind: 'switch',
    description: 'Logger mode: enable file level log control (Fine-Grain Logger) or not',
  },
  {
    name: 'base-id',
    kind: 'value',
    valueType: 'uint32_t',
    description: 'Base ID so that multiple instances can run on the same host if needed',
    defaultText: '0',
  },
  {
    name: 'use-dynamic-base-id',
    kind: 'switch',
    description:
      'The server chooses a base ID dynamically. Supersedes a static base ID. May not be used when ' +
      'the restart epoch is non-zero.',
  },
  {
    name: 'base-id-path',
    kind: 'value',
    valueType: 'string',
    description: 'Path to which the base ID is written',
    defaultText: "''",
  },
  {
    name: 'restart-epoch',
    kind: 'value',
    valueType: 'uint32_t',
    description: 'Hot restart epoch #',
    defaultText: '0',
  },
  {
    name: 'hot-restart-version',
    kind: 'switch',
    description: 'Hot restart compatibility version',
  },
  {
    name: 'disable-hot-restart',
    kind: 'switch',
    description: 'Disable hot restart functionality',
  },
  {
    name: 'drain-time-s',
    kind: 'value',
    valueType: 'uint32_t',
    description: 'Hot restart and LDS removal drain time in seconds',
    defaultText: '600',
  },
  {
    name: 'drain-strategy',
    kind: 'value',
    valueType: 'string',
    description: "Hot restart drain sequence behaviour, one of 'gradual' (default) or 'immediate'.",
    defaultText: 'gradual',
  },
  {
    name: 'parent-shutdown-time-s',
    kind: 'value',
    valueType: 'uint32_t',
    description: 'Hot restart parent shutdown time in seconds',
    defaultText: '900',
  },
  {
    name: 'file-flush-interval-msec',
    kind: 'value',
    valueType: 'uint32_t',
    description: 'Interval for log flushing in msec',
    defaultText: '10000',
  },
  {
    name: 'service-cluster',
    kind: 'value',
    valueType: 'string',
    description: 'Cluster name',
    defaultText: "''",
  },
  {
    name: 'service-node',
    kind: 'value',
    valueType: 'string',
    description: 'Node name',
    defaultText: "''",
  },
  {
    name: 'service-zone',
    kind: 'value',
    valueType: 'string',
    description: 'Zone name',
    defaultText: "''",
  },
  {
    name: 'local-address-ip-version',
    kind: 'value',
    valueType: 'string',
    description: 'The local IP address version (v4 or v6).',
    defaultText: 'v4',
  },
  {
    name: 'admin-address-path',
    kind: 'value',
    valueType: 'string',
    description: 'Admin address path',
    defaultText: "''",
  },
  {
    name: 'allow-unknown-static-fields',
    kind: 'switch',
    description: 'Allow unknown fields in static configuration',
  },
  {
    name: 'reject-unknown-dynamic-fields',
    kind: 'switch',
    description: 'Reject unknown fields in dynamic configuration',
  },
  {
    name: 'ignore-unknown-dynamic-fields',
    kind: 'switch',
    description: 'Ignore unknown fields in dynamic configuration',
  },
  {
    name: 'disable-extensions',
    kind: 'value',
    valueType: 'string',
    description: 'Comma-separated list of extensions to disable',
    defaultText: "''",
  },
  {
    name: 'stats-tag',
    kind: 'value',
    valueType: 'string',
    repeatable: true,
    description:
      'This flag provides a universal tag for all stats generated by Legate. The format is ' +
      '``tag:value``. Only alphanumeric values are allowed for tag names. For tag values all characters ' +
      "are permitted except for '.' (dot). This flag can be repeated multiple times to set multiple " +
      'universal tags.',
    defaultText: 'none',
  },
  {
    name: 'socket-path',
    kind: 'value',
    valueType: 'string',
    description: 'Path to hot restart socket file',
    defaultText: '@envoy_domain_socket',
  },
  {
    name: 'socket-mode',
    kind: 'value',
    valueType: 'string',
    description: 'Socket file permission (octal)',
    defaultText: '600',
  },
  {
    name: 'enable-core-dump',
    kind: 'switch',
    description: 'Enable core dumps',
  },
  {
    name: 'cpuset-threads',
    kind: 'switch',
    description: 'Get the default # of worker threads from cpuset size',
  },
  {
    name: 'enable-mutex-tracing',
    kind: 'switch',
    description: 'Enable mutex contention tracing functionality',
  },
  {
    name: 'admin-readonly-address',
    kind: 'value',
    valueType: 'string',
    description:
      'Legate extension: host:port of a read-only admin listener serving only /ready, /stats and ' +
      '/stats/prometheus (for probes and scrapers that must not reach the mutating endpoints)',
    defaultText: "'' (none)",
  },
  {
    name: 'version',
    kind: 'version',
    description: 'Displays version information and exits.',
  },
  {
    name: 'help',
    short: 'h',
    kind: 'help',
    description: 'Displays usage information and exits.',
  },
];

const BY_LONG = new Map<string, FlagSpec>(FLAGS.map((f) => [f.name, f]));
const BY_SHORT = new Map<string, FlagSpec>(
  FLAGS.flatMap((f): [string, FlagSpec][] => (f.short === undefined ? [] : [[f.short, f]])),
);

const UINT32_MAX = 0xffff_ffff;
const EXIT_MALFORMED = 1;

/** Thrown inside the parser only; `parseOptions` turns it into `{ ok: false }`. */
class UsageError extends Error {}

function fail(message: string): never {
  throw new UsageError(`error: ${message}`);
}

/** Quotes a user-supplied string for an error: escapes control characters, keeps it short. */
function quote(s: string): string {
  const escaped = JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${escaped.length > 80 ? escaped.slice(0, 77) + '...' : escaped}'`;
}

/** Looks a flag token (`--name`, `-c`, with any `=value` already removed) up. */
function lookup(flag: string): FlagSpec | undefined {
  if (flag.startsWith('--')) return BY_LONG.get(flag.slice(2));
  if (flag.length === 2 && flag[0] === '-') return BY_SHORT.get(flag.slice(1));
  return undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest known long flag to an unknown one, if any is close enough to be a typo. */
function suggest(flag: string): string | undefined {
  const typed = flag.replace(/^-+/, '').replace(/_/g, '-').toLowerCase();
  if (typed === '') return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const spec of FLAGS) {
    const d = spec.name.startsWith(typed) && typed.length >= 3 ? 1 : editDistance(typed, spec.name);
    if (d < bestDistance) {
      best = spec.name;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(typed.length / 4));
  return best !== undefined && bestDistance <= limit ? `--${best}` : undefined;
}

interface Scan {
  /** Values of value flags, by long name, in command-line order. */
  readonly values: Map<string, string[]>;
  /** Switches present, by long name. */
  readonly switches: Set<string>;
  /** Set when `--help` or `--version` came before any error. */
  readonly action: 'help' | 'version' | undefined;
}

/** First pass, TCLAP's: syntax only, strictly in order. */
function scan(argv: readonly string[]): Scan {
  const values = new Map<string, string[]>();
  const switches = new Set<string>();
  const seen = new Set<string>();
  let previousSwitch: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--' || token === '--ignore_rest') break;
    if (!token.startsWith('-') || token === '-') {
      const hint =
        previousSwitch === undefined ? '' : ` (--${previousSwitch} is a switch and takes no value)`;
      fail(`unexpected argument ${quote(token)}${hint}`);
    }
    const eq = token.indexOf('=');
    const flag = eq < 0 ? token : token.slice(0, eq);
    const inline = eq < 0 ? undefined : token.slice(eq + 1);
    const spec = lookup(flag);
    if (spec === undefined) {
      const guess = suggest(flag);
      fail(`unknown flag ${quote(flag)}${guess === undefined ? '' : ` (did you mean '${guess}'?)`}`);
    }
    const name = `--${spec.name}`;
    if (spec.kind !== 'value' && inline !== undefined) {
      fail(`${name}: switch takes no value, got ${quote(inline)}`);
    }
    if (seen.has(spec.name) && spec.repeatable !== true) fail(`${name}: flag given more than once`);
    seen.add(spec.name);
    previousSwitch = undefined;
    switch (spec.kind) {
      case 'help':
      case 'version':
        return { values, switches, action: spec.kind };
      case 'switch':
        switches.add(spec.name);
        previousSwitch = spec.name;
        break;
      case 'value': {
        let value = inline;
        if (value === undefined) {
          const next = argv[i + 1];
          // A value that is itself a flag means the real value was forgotten.
          if (next === undefined || isFlagToken(next)) fail(`${name}: missing value`);
          value = next;
          i++;
        }
        const list = values.get(spec.name);
        if (list === undefined) values.set(spec.name, [value]);
        else list.push(value);
        break;
      }
    }
  }
  return { values, switches, action: undefined };
}

function isFlagToken(token: string): boolean {
  if (token === '--' || token === '--ignore_rest') return true;
  const eq = token.indexOf('=');
  return lookup(eq < 0 ? token : token.slice(0, eq)) !== undefined;
}

/** Second pass, Envoy's: converts and checks each value. */
class Values {
  readonly #scan: Scan;
  constructor(s: Scan) {
    this.#scan = s;
  }

  has(name: string): boolean {
    return this.#scan.values.has(name) || this.#scan.switches.has(name);
  }

  switch(name: string): boolean {
    return this.#scan.switches.has(name);
  }

  string(name: string, fallback: string): string {
    return this.#scan.values.get(name)?.[0] ?? fallback;
  }

  all(name: string): readonly string[] {
    return this.#scan.values.get(name) ?? [];
  }

  uint32(name: string, fallback: number): number {
    const raw = this.#scan.values.get(name)?.[0];
    if (raw === undefined) return fallback;
    if (!/^[0-9]+$/.test(raw)) fail(`--${name}: expected a non-negative integer, got ${quote(raw)}`);
    const n = Number(raw);
    if (n > UINT32_MAX) fail(`--${name}: ${raw} is out of range (0 to ${UINT32_MAX})`);
    return n;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.#scan.values.get(name)?.[0];
    if (raw === undefined) return fallback;
    const found = allowed.find((a) => a === raw);
    if (found === undefined) fail(`--${name}: expected one of ${allowed.join(', ')}, got ${quote(raw)}`);
    return found;
  }
}

function normaliseLevel(level: (typeof LOG_LEVEL_INPUTS)[number]): LogLevel {
  return level === 'warn' ? 'warning' : level;
}

function parseComponentLogLevels(spec: string): Map<LoggerId, LogLevel> {
  const levels = new Map<LoggerId, LogLevel>();
  if (spec === '') return levels;
  for (const item of spec.split(',')) {
    const parts = item.split(':');
    if (parts.length !== 2) {
      fail(`--component-log-level: expected component:level, got ${quote(item)}`);
    }
    const [component = '', level = ''] = parts;
    const id = LOGGER_IDS.find((l) => l === component);
    if (id === undefined) fail(`--component-log-level: unknown component ${quote(component)}`);
    const lvl = LOG_LEVEL_INPUTS.find((l) => l === level);
    if (lvl === undefined) {
      fail(
        `--component-log-level: expected a level (one of ${LOG_LEVEL_INPUTS.join(', ')}), got ${quote(level)}`,
      );
    }
    levels.set(id, normaliseLevel(lvl));
  }
  return levels;
}

/** Envoy's TagUtility checks: names alphanumeric (and `_`), values anything but `.`. */
function parseStatsTag(raw: string): StatsTag {
  const colon = raw.indexOf(':');
  if (colon < 0) fail(`--stats-tag: expected name:value, got ${quote(raw)}`);
  const name = raw.slice(0, colon);
  const value = raw.slice(colon + 1);
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    fail(`--stats-tag: tag name ${quote(name)} must be non-empty and alphanumeric`);
  }
  if (value.includes('.')) fail(`--stats-tag: tag value ${quote(value)} must not contain '.'`);
  return { name, value };
}

function parseSocketMode(raw: string): number {
  if (!/^0*[0-7]{1,4}$/.test(raw)) {
    fail(`--socket-mode: expected octal permission bits (e.g. 600), got ${quote(raw)}`);
  }
  return Number.parseInt(raw, 8);
}

/** `host:port` or `[v6]:port` -> its parts (`--admin-readonly-address`). */
function parseHostPort(flag: string, raw: string): { host: string; port: number } | undefined {
  if (raw === '') return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
  const port = m === null ? Number.NaN : Number(m[3]);
  if (m === null || port > 65535) {
    fail(`--${flag}: expected host:port (IPv6 as [addr]:port, port 0-65535), got ${quote(raw)}`);
  }
  return { host: m[1] ?? m[2] ?? '', port };
}

function build(v: Values, env: ParseEnv): Options {
  const concurrencyRaw = v.uint32('concurrency', env.cpus);
  const options: Options = {
    configPath: v.string('config-path', ''),
    configYaml: v.string('config-yaml', ''),
    mode: v.oneOf('mode', MODES, 'serve'),
    concurrency: Math.max(1, concurrencyRaw),
    concurrencyRaw,
    logLevel: normaliseLevel(v.oneOf('log-level', LOG_LEVEL_INPUTS, 'info')),
    componentLogLevels: parseComponentLogLevels(v.string('component-log-level', '')),
    componentLogLevelString: v.string('component-log-level', ''),
    logPath: v.string('log-path', ''),
    logFormat: v.string('log-format', DEFAULT_LOG_FORMAT),
    logFormatEscaped: v.switch('log-format-escaped'),
    enableFineGrainLogging: v.switch('enable-fine-grain-logging'),
    baseId: v.uint32('base-id', 0),
    useDynamicBaseId: v.switch('use-dynamic-base-id'),
    baseIdPath: v.string('base-id-path', ''),
    restartEpoch: v.uint32('restart-epoch', 0),
    disableHotRestart: v.switch('disable-hot-restart'),
    drainTimeS: v.uint32('drain-time-s', 600),
    drainStrategy: v.oneOf('drain-strategy', DRAIN_STRATEGIES, 'gradual'),
    parentShutdownTimeS: v.uint32('parent-shutdown-time-s', 900),
    fileFlushIntervalMsec: v.uint32('file-flush-interval-msec', 10000),
    serviceCluster: v.string('service-cluster', ''),
    serviceNode: v.string('service-node', ''),
    serviceZone: v.string('service-zone', ''),
    localAddressIpVersion: v.oneOf('local-address-ip-version', IP_VERSIONS, 'v4'),
    adminAddressPath: v.string('admin-address-path', ''),
    allowUnknownStaticFields: v.switch('allow-unknown-static-fields'),
    rejectUnknownDynamicFields: v.switch('reject-unknown-dynamic-fields'),
    ignoreUnknownDynamicFields: v.switch('ignore-unknown-dynamic-fields'),
    disabledExtensions: v
      .string('disable-extensions', '')
      .split(',')
      .filter((e) => e !== ''),
    statsTags: v.all('stats-tag').map(parseStatsTag),
    socketPath: v.string('socket-path', '@envoy_domain_socket'),
    socketMode: parseSocketMode(v.string('socket-mode', '600')),
    enableCoreDump: v.switch('enable-core-dump'),
    cpusetThreads: v.switch('cpuset-threads'),
    enableMutexTracing: v.switch('enable-mutex-tracing'),
    adminReadonlyAddress: parseHostPort('admin-readonly-address', v.string('admin-readonly-address', '')),
  };
  if (options.useDynamicBaseId && options.restartEpoch > 0) {
    fail(`--use-dynamic-base-id: cannot be used with --restart-epoch=${options.restartEpoch}`);
  }
  return options;
}

/**
 * Parses `argv` (without the node and script entries, i.e. `process.argv.slice(2)`).
 * Never throws, prints or exits.
 */
export function parseOptions(
  argv: readonly string[],
  env: ParseEnv = { cpus: availableParallelism() },
): ParseResult {
  try {
    const scanned = scan(argv);
    if (scanned.action !== undefined) return { ok: true, action: scanned.action };
    const values = new Values(scanned);
    const options = build(values, env);
    // Envoy answers --hot-restart-version without a configuration.
    if (values.has('hot-restart-version')) return { ok: true, action: 'hot-restart-version', options };
    if (options.mode !== 'init_only' && options.configPath === '' && options.configYaml === '') {
      fail('at least one of --config-path or --config-yaml is required');
    }
    return { ok: true, action: 'run', options };
  } catch (e) {
    if (e instanceof UsageError) return { ok: false, error: e.message, exitCode: EXIT_MALFORMED };
    throw e;
  }
}

/**
 * Greedy wrap of `text` (split at spaces, or pre-split into unbreakable items): the first
 * line after `first`, the rest after `rest`, within `width`.
 */
function wrap(text: string | readonly string[], first: string, rest: string, width = 79): string[] {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of typeof text === 'string' ? text.split(/ +/) : text) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest + word;
    } else {
      line += (empty ? '' : ' ') + word;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

function usageOf(spec: FlagSpec): string {
  const flag = spec.short === undefined ? `--${spec.name}` : `-${spec.short}`;
  const value = spec.kind === 'value' ? ` <${spec.valueType}>` : '';
  return `[${flag}${value}]${spec.repeatable === true ? ' ...' : ''}`;
}

function headingOf(spec: FlagSpec): string {
  const value = spec.kind === 'value' ? ` <${spec.valueType}>` : '';
  const long = `--${spec.name}${value}`;
  const both = spec.short === undefined ? long : `-${spec.short}${value},  ${long}`;
  return spec.repeatable === true ? `${both}  (accepted multiple times)` : both;
}

/**
 * The `--help` text, in TCLAP's layout (USAGE line, then one entry per flag), each
 * value flag with its default. `env.cpus` is shown as the `--concurrency` default.
 */
export function helpText(env: ParseEnv = { cpus: availableParallelism() }): string {
  const program = 'legate';
  const usage = [
    ...FLAGS.filter((f) => f.kind !== 'help' && f.kind !== 'version').map(usageOf),
    '[--]',
  ].concat(FLAGS.filter((f) => f.kind === 'help' || f.kind === 'version').map(usageOf));
  const out: string[] = ['', 'USAGE: ', ''];
  out.push(...wrap(usage, `   ${program}  `, ' '.repeat(3 + program.length + 2)));
  out.push('', '', 'Where: ', '');
  const entry = (heading: string, description: string, defaultText: string | undefined): void => {
    out.push(`   ${heading}`);
    out.push(...wrap(description, '     ', '     '));
    if (defaultText !== undefined) out.push(...wrap(`Default is ${defaultText}`, '     ', '     '));
    out.push('');
  };
  for (const spec of FLAGS) {
    if (spec.kind === 'help' || spec.kind === 'version') continue;
    const def =
      spec.defaultText === CPUS_DEFAULT ? `${env.cpus} (the number of available CPUs)` : spec.defaultText;
    entry(headingOf(spec), spec.description, def);
  }
  entry('--,  --ignore_rest', 'Ignores the rest of the labeled arguments following this flag.', undefined);
  for (const spec of FLAGS) {
    if (spec.kind === 'help' || spec.kind === 'version') entry(headingOf(spec), spec.description, undefined);
  }
  out.push('', `   ${program}`, '', '');
  return out.join('\n');
}

/** The `--version` text, in TCLAP's layout. */
export function versionText(): string {
  return `\nlegate  version: ${LEGATE_VERSION}\n\n`;
}
