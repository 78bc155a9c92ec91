import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_LOG_FORMAT,
  helpText,
  LEGATE_VERSION,
  LOGGER_IDS,
  type Options,
  type ParseResult,
  parseOptions,
  versionText,
} from '../../src/server/options.ts';

const ENV = { cpus: 4 };

function run(argv: readonly string[], env = ENV): Options {
  const r = parseOptions(argv, env);
  if (!r.ok) assert.fail(`expected success, got ${r.error}`);
  assert.equal(r.action, 'run');
  if (r.action !== 'run') assert.fail('unreachable');
  return r.options;
}

function error(argv: readonly string[]): string {
  const r: ParseResult = parseOptions(argv, ENV);
  if (r.ok) assert.fail(`expected an error for ${JSON.stringify(argv)}`);
  assert.equal(r.exitCode, 1);
  assert.doesNotMatch(r.error, /\n/, 'errors are one line');
  assert.match(r.error, /^error: /);
  return r.error;
}

describe('parseOptions defaults', () => {
  test('only -c given: every other option takes Envoy default', () => {
    const o = run(['-c', 'envoy.yaml']);
    assert.deepEqual(o, {
      configPath: 'envoy.yaml',
      configYaml: '',
      mode: 'serve',
      concurrency: 4,
      concurrencyRaw: 4,
      logLevel: 'info',
      componentLogLevels: new Map(),
      componentLogLevelString: '',
      logPath: '',
      logFormat: '[%Y-%m-%d %T.%e][%t][%l][%n] [%g:%#] %v',
      logFormatEscaped: false,
      enableFineGrainLogging: false,
      baseId: 0,
      useDynamicBaseId: false,
      baseIdPath: '',
      restartEpoch: 0,
      disableHotRestart: false,
      drainTimeS: 600,
      drainStrategy: 'gradual',
      parentShutdownTimeS: 900,
      fileFlushIntervalMsec: 10000,
      serviceCluster: '',
      serviceNode: '',
      serviceZone: '',
      localAddressIpVersion: 'v4',
      adminAddressPath: '',
      allowUnknownStaticFields: false,
      rejectUnknownDynamicFields: false,
      ignoreUnknownDynamicFields: false,
      disabledExtensions: [],
      statsTags: [],
      socketPath: '@envoy_domain_socket',
      socketMode: 0o600,
      enableCoreDump: false,
      cpusetThreads: false,
      enableMutexTracing: false,
      adminReadonlyAddress: undefined,
    } satisfies Options);
    assert.equal(o.logFormat, DEFAULT_LOG_FORMAT);
  });

  test('concurrency defaults to the cpus of the environment', () => {
    assert.equal(run(['-c', 'x'], { cpus: 12 }).concurrency, 12);
  });

  test('without an env the default concurrency is a positive integer', () => {
    const r = parseOptions(['-c', 'x']);
    assert.ok(r.ok && r.action === 'run');
    assert.ok(Number.isInteger(r.options.concurrency) && r.options.concurrency >= 1);
  });

  test('empty argv fails: a config is required in serve mode', () => {
    assert.equal(error([]), 'error: at least one of --config-path or --config-yaml is required');
  });

  test('validate mode also requires a config', () => {
    assert.equal(
      error(['--mode', 'validate']),
      'error: at least one of --config-path or --config-yaml is required',
    );
  });

  test('--config-yaml alone satisfies the config requirement', () => {
    assert.equal(run(['--config-yaml', '{}']).configYaml, '{}');
  });

  test('init_only mode does not require a config', () => {
    assert.equal(run(['--mode', 'init_only']).mode, 'init_only');
  });
});

describe('value forms', () => {
  test('--flag value and --flag=value give the same result', () => {
    const spaced = run(['--config-path', 'a.yaml', '--drain-time-s', '5', '--service-node', 'n1']);
    const joined = run(['--config-path=a.yaml', '--drain-time-s=5', '--service-node=n1']);
    assert.deepEqual(spaced, joined);
    assert.equal(joined.configPath, 'a.yaml');
    assert.equal(joined.drainTimeS, 5);
    assert.equal(joined.serviceNode, 'n1');
  });

  test('short forms -c and -l take the next argument', () => {
    const o = run(['-c', 'b.yaml', '-l', 'debug']);
    assert.equal(o.configPath, 'b.yaml');
    assert.equal(o.logLevel, 'debug');
  });

  test('short form with = also works', () => {
    assert.equal(run(['-c=b.yaml']).configPath, 'b.yaml');
  });

  test('--flag= gives an empty string value, kept verbatim after the first =', () => {
    const o = run(['-c', 'x', '--service-cluster=', '--log-format=a=b %v']);
    assert.equal(o.serviceCluster, '');
    assert.equal(o.logFormat, 'a=b %v');
  });

  test('a value may start with a dash when it is not a known flag', () => {
    assert.equal(run(['-c', 'x', '--log-format', '-%v-']).logFormat, '-%v-');
  });

  test('a value that merely spells a short flag without its dash is a value', () => {
    assert.equal(run(['-c', 'x', '--service-cluster', 'sc', '--service-node', 'l']).serviceCluster, 'sc');
  });

  test('every string flag is stored', () => {
    const o = run([
      '-c',
      'p',
      '--config-yaml',
      'y',
      '--log-path',
      '/tmp/l',
      '--base-id-path',
      '/tmp/b',
      '--service-cluster',
      'sc',
      '--service-node',
      'sn',
      '--service-zone',
      'sz',
      '--admin-address-path',
      '/tmp/a',
      '--socket-path',
      '/tmp/s',
    ]);
    assert.equal(o.configPath, 'p');
    assert.equal(o.configYaml, 'y');
    assert.equal(o.logPath, '/tmp/l');
    assert.equal(o.baseIdPath, '/tmp/b');
    assert.equal(o.serviceCluster, 'sc');
    assert.equal(o.serviceNode, 'sn');
    assert.equal(o.serviceZone, 'sz');
    assert.equal(o.adminAddressPath, '/tmp/a');
    assert.equal(o.socketPath, '/tmp/s');
  });

  test('every switch sets its property', () => {
    const o = run([
      '-c',
      'x',
      '--log-format-escaped',
      '--enable-fine-grain-logging',
      '--use-dynamic-base-id',
      '--disable-hot-restart',
      '--allow-unknown-static-fields',
      '--reject-unknown-dynamic-fields',
      '--ignore-unknown-dynamic-fields',
      '--enable-core-dump',
      '--cpuset-threads',
      '--enable-mutex-tracing',
    ]);
    assert.equal(o.logFormatEscaped, true);
    assert.equal(o.enableFineGrainLogging, true);
    assert.equal(o.useDynamicBaseId, true);
    assert.equal(o.disableHotRestart, true);
    assert.equal(o.allowUnknownStaticFields, true);
    assert.equal(o.rejectUnknownDynamicFields, true);
    assert.equal(o.ignoreUnknownDynamicFields, true);
    assert.equal(o.enableCoreDump, true);
    assert.equal(o.cpusetThreads, true);
    assert.equal(o.enableMutexTracing, true);
  });

  test('a switch given a value with = is an error', () => {
    assert.equal(
      error(['-c', 'x', '--disable-hot-restart=yes']),
      "error: --disable-hot-restart: switch takes no value, got 'yes'",
    );
  });

  test('a word after a switch is a stray argument, with a hint', () => {
    assert.equal(
      error(['-c', 'x', '--disable-hot-restart', 'yes']),
      "error: unexpected argument 'yes' (--disable-hot-restart is a switch and takes no value)",
    );
  });

  test('a stray positional argument is an error', () => {
    assert.equal(error(['-c', 'x', 'serve']), "error: unexpected argument 'serve'");
  });

  test('-- ignores the rest of the command line, as TCLAP does', () => {
    assert.equal(run(['-c', 'x', '--', 'anything', '--bogus']).configPath, 'x');
  });
});

describe('enum flags', () => {
  test('--mode accepts serve, validate, init_only', () => {
    for (const mode of ['serve', 'validate', 'init_only'] as const) {
      assert.equal(run(['-c', 'x', '--mode', mode]).mode, mode);
    }
  });

  test('--mode rejects anything else', () => {
    assert.equal(
      error(['-c', 'x', '--mode', 'run']),
      "error: --mode: expected one of serve, validate, init_only, got 'run'",
    );
  });

  test('--log-level accepts every spdlog level and normalises warn to warning', () => {
    for (const level of ['trace', 'debug', 'info', 'warning', 'error', 'critical', 'off'] as const) {
      assert.equal(run(['-c', 'x', '-l', level]).logLevel, level);
    }
    assert.equal(run(['-c', 'x', '--log-level=warn']).logLevel, 'warning');
  });

  test('--log-level rejects unknown levels and is case sensitive', () => {
    assert.equal(
      error(['-c', 'x', '-l', 'verbose']),
      "error: --log-level: expected one of trace, debug, info, warning, warn, error, critical, off, got 'verbose'",
    );
    assert.match(error(['-c', 'x', '-l', 'INFO']), /^error: --log-level: .*got 'INFO'$/);
  });

  test('--drain-strategy accepts gradual and immediate only', () => {
    assert.equal(run(['-c', 'x', '--drain-strategy', 'immediate']).drainStrategy, 'immediate');
    assert.equal(run(['-c', 'x', '--drain-strategy', 'gradual']).drainStrategy, 'gradual');
    assert.equal(
      error(['-c', 'x', '--drain-strategy', 'fast']),
      "error: --drain-strategy: expected one of gradual, immediate, got 'fast'",
    );
  });

  test('--local-address-ip-version accepts v4 and v6 only', () => {
    assert.equal(run(['-c', 'x', '--local-address-ip-version', 'v6']).localAddressIpVersion, 'v6');
    assert.equal(run(['-c', 'x', '--local-address-ip-version', 'v4']).localAddressIpVersion, 'v4');
    assert.equal(
      error(['-c', 'x', '--local-address-ip-version', 'ipv6']),
      "error: --local-address-ip-version: expected one of v4, v6, got 'ipv6'",
    );
  });
});

describe('integer flags', () => {
  const intFlags = [
    ['--concurrency', 'concurrencyRaw'],
    ['--base-id', 'baseId'],
    ['--restart-epoch', 'restartEpoch'],
    ['--drain-time-s', 'drainTimeS'],
    ['--parent-shutdown-time-s', 'parentShutdownTimeS'],
    ['--file-flush-interval-msec', 'fileFlushIntervalMsec'],
  ] as const;

  test('each uint32 flag accepts 0 and 4294967295', () => {
    for (const [flag, prop] of intFlags) {
      assert.equal(run(['-c', 'x', flag, '0'])[prop], 0, flag);
      assert.equal(run(['-c', 'x', `${flag}=4294967295`])[prop], 4294967295, flag);
    }
  });

  test('each uint32 flag rejects 4294967296 as out of range', () => {
    for (const [flag] of intFlags) {
      assert.equal(
        error(['-c', 'x', flag, '4294967296']),
        `error: ${flag}: 4294967296 is out of range (0 to 4294967295)`,
      );
    }
  });

  test('integers are decimal digits only: no sign, fraction, hex, exponent, space or empty', () => {
    for (const bad of ['-1', '+1', '1.5', '0x10', '1e3', ' 1', '']) {
      assert.equal(
        error(['-c', 'x', `--drain-time-s=${bad}`]),
        `error: --drain-time-s: expected a non-negative integer, got '${bad}'`,
      );
    }
    assert.equal(
      error(['-c', 'x', '--concurrency', 'x']),
      "error: --concurrency: expected a non-negative integer, got 'x'",
    );
  });

  test('--concurrency 0 is accepted and means 1; the raw value is kept', () => {
    const o = run(['-c', 'x', '--concurrency', '0']);
    assert.equal(o.concurrency, 1);
    assert.equal(o.concurrencyRaw, 0);
  });

  test('--concurrency 8 is used as given', () => {
    const o = run(['-c', 'x', '--concurrency=8']);
    assert.equal(o.concurrency, 8);
    assert.equal(o.concurrencyRaw, 8);
  });

  test('--use-dynamic-base-id with a non-zero --restart-epoch is rejected, as in Envoy', () => {
    assert.equal(
      error(['-c', 'x', '--use-dynamic-base-id', '--restart-epoch', '1']),
      'error: --use-dynamic-base-id: cannot be used with --restart-epoch=1',
    );
    assert.equal(run(['-c', 'x', '--use-dynamic-base-id', '--restart-epoch', '0']).useDynamicBaseId, true);
  });
});

describe('syntax errors', () => {
  test('unknown flag suggests the closest known flag', () => {
    assert.equal(
      error(['--conig-path', 'x']),
      "error: unknown flag '--conig-path' (did you mean '--config-path'?)",
    );
    assert.equal(
      error(['--log_level=debug']),
      "error: unknown flag '--log_level' (did you mean '--log-level'?)",
    );
  });

  test('unknown flag far from every known flag has no suggestion', () => {
    assert.equal(error(['--frobnicate-everything']), "error: unknown flag '--frobnicate-everything'");
    assert.equal(error(['-x']), "error: unknown flag '-x'");
  });

  test('missing value at the end of argv names the flag', () => {
    assert.equal(error(['--config-path']), 'error: --config-path: missing value');
    assert.equal(error(['-c', 'x', '-l']), 'error: --log-level: missing value');
  });

  test('a known flag where a value belongs means the value is missing', () => {
    assert.equal(error(['-c', '--mode', 'validate']), 'error: --config-path: missing value');
  });

  test('a non-repeatable flag given twice is an error, short and long forms alike', () => {
    assert.equal(error(['-c', 'a', '--config-path', 'b']), 'error: --config-path: flag given more than once');
    assert.equal(
      error(['-c', 'x', '--disable-hot-restart', '--disable-hot-restart']),
      'error: --disable-hot-restart: flag given more than once',
    );
  });

  test('errors quote values on one line even when they contain newlines', () => {
    assert.equal(
      error(['-c', 'x', '--mode', 'serve\nvalidate']),
      "error: --mode: expected one of serve, validate, init_only, got 'serve\\nvalidate'",
    );
  });
});

describe('--component-log-level', () => {
  test('parses comp:level pairs into a map, normalising warn', () => {
    const o = run(['-c', 'x', '--component-log-level', 'upstream:debug,config:trace,http2:warn']);
    assert.deepEqual(
      o.componentLogLevels,
      new Map([
        ['upstream', 'debug'],
        ['config', 'trace'],
        ['http2', 'warning'],
      ]),
    );
    assert.equal(o.componentLogLevelString, 'upstream:debug,config:trace,http2:warn');
  });

  test('accepts every Envoy logger id', () => {
    const spec = LOGGER_IDS.map((id) => `${id}:off`).join(',');
    assert.equal(
      run(['-c', 'x', `--component-log-level=${spec}`]).componentLogLevels.size,
      LOGGER_IDS.length,
    );
  });

  test('rejects an unknown component', () => {
    assert.equal(
      error(['-c', 'x', '--component-log-level', 'upstream:debug,nosuch:info']),
      "error: --component-log-level: unknown component 'nosuch'",
    );
  });

  test('rejects an invalid level', () => {
    assert.match(
      error(['-c', 'x', '--component-log-level', 'upstream:loud']),
      /^error: --component-log-level: expected a level \(one of .*\), got 'loud'$/,
    );
  });

  test('rejects a malformed pair and an empty entry', () => {
    for (const bad of ['upstream', 'upstream:debug:x', 'upstream:debug,']) {
      assert.match(
        error(['-c', 'x', '--component-log-level', bad]),
        /^error: --component-log-level: expected component:level, got '/,
      );
    }
  });
});

describe('list flags', () => {
  test('--disable-extensions splits on commas and drops empty entries', () => {
    assert.deepEqual(run(['-c', 'x', '--disable-extensions', 'a/b,,c/d']).disabledExtensions, ['a/b', 'c/d']);
  });

  test('--stats-tag is repeatable and keeps order; the value may contain colons', () => {
    const o = run(['-c', 'x', '--stats-tag', 'dc:east', '--stats-tag=role:edge:1']);
    assert.deepEqual(o.statsTags, [
      { name: 'dc', value: 'east' },
      { name: 'role', value: 'edge:1' },
    ]);
  });

  test('--stats-tag rejects a missing colon, a bad name and a dotted value', () => {
    assert.equal(
      error(['-c', 'x', '--stats-tag', 'dc']),
      "error: --stats-tag: expected name:value, got 'dc'",
    );
    assert.match(error(['-c', 'x', '--stats-tag', 'd-c:east']), /tag name 'd-c'/);
    assert.match(error(['-c', 'x', '--stats-tag', 'dc:us.east']), /tag value 'us.east' must not contain/);
  });

  test('--socket-mode is parsed as octal and rejects non-octal digits', () => {
    assert.equal(run(['-c', 'x', '--socket-mode', '644']).socketMode, 0o644);
    assert.equal(run(['-c', 'x', '--socket-mode', '0600']).socketMode, 0o600);
    assert.match(error(['-c', 'x', '--socket-mode', '689']), /^error: --socket-mode: expected octal/);
  });
});

describe('actions', () => {
  test('--help and -h ask for help without requiring a config', () => {
    assert.deepEqual(parseOptions(['--help'], ENV), { ok: true, action: 'help' });
    assert.deepEqual(parseOptions(['-h'], ENV), { ok: true, action: 'help' });
  });

  test('--version asks for the version', () => {
    assert.deepEqual(parseOptions(['--version'], ENV), { ok: true, action: 'version' });
  });

  test('actions are taken in order, as in TCLAP: an error before --help wins, one after does not', () => {
    assert.deepEqual(parseOptions(['--help', '--bogus'], ENV), { ok: true, action: 'help' });
    assert.equal(error(['--bogus', '--help']), "error: unknown flag '--bogus'");
  });

  test('--hot-restart-version is an action that carries the options and needs no config', () => {
    const r = parseOptions(['--hot-restart-version', '--disable-hot-restart'], ENV);
    assert.ok(r.ok && r.action === 'hot-restart-version');
    assert.equal(r.options.disableHotRestart, true);
  });

  test('--hot-restart-version still validates the other flags', () => {
    assert.match(error(['--hot-restart-version', '--mode', 'x']), /^error: --mode:/);
  });

  test('--help= is an error: actions take no value', () => {
    assert.equal(error(['--help=1']), "error: --help: switch takes no value, got '1'");
  });
});

describe('helpText and version', () => {
  test('LEGATE_VERSION comes from package.json and appears in versionText', () => {
    assert.match(LEGATE_VERSION, /^\d+\.\d+\.\d+/);
    assert.ok(versionText().includes(`legate  version: ${LEGATE_VERSION}`));
  });

  test('helpText lists every flag with the defaults', () => {
    const text = helpText({ cpus: 6 });
    for (const flag of [
      '-c <string>,  --config-path <string>',
      '--config-yaml <string>',
      '--mode <string>',
      '--concurrency <uint32_t>',
      '-l <string>,  --log-level <string>',
      '--component-log-level <string>',
      '--log-path <string>',
      '--log-format <string>',
      '--log-format-escaped',
      '--enable-fine-grain-logging',
      '--base-id <uint32_t>',
      '--use-dynamic-base-id',
      '--base-id-path <string>',
      '--restart-epoch <uint32_t>',
      '--hot-restart-version',
      '--disable-hot-restart',
      '--drain-time-s <uint32_t>',
      '--drain-strategy <string>',
      '--parent-shutdown-time-s <uint32_t>',
      '--file-flush-interval-msec <uint32_t>',
      '--service-cluster <string>',
      '--service-node <string>',
      '--service-zone <string>',
      '--local-address-ip-version <string>',
      '--admin-address-path <string>',
      '--allow-unknown-static-fields',
      '--reject-unknown-dynamic-fields',
      '--ignore-unknown-dynamic-fields',
      '--disable-extensions <string>',
      '--stats-tag <string>  (accepted multiple times)',
      '--socket-path <string>',
      '--socket-mode <string>',
      '--enable-core-dump',
      '--cpuset-threads',
      '--enable-mutex-tracing',
      '--version',
      '-h,  --help',
    ]) {
      assert.ok(text.includes(`\n   ${flag}\n`), `help lists ${flag}`);
    }
    for (const def of [
      'Default is serve',
      'Default is [info]',
      'Default is 6 (the number of available CPUs)',
      'Default is 600',
      'Default is 900',
      'Default is 10000',
      'Default is gradual',
      'Default is v4',
      'Default is @envoy_domain_socket',
      `Default is "${DEFAULT_LOG_FORMAT}"`,
    ]) {
      assert.ok(text.includes(def), `help shows ${def}`);
    }
    assert.ok(text.startsWith('\nUSAGE: \n\n   legate  [-c <string>]'));
    for (const line of text.split('\n')) assert.ok(line.length <= 79 || !line.includes(' '), line);
  });
});
