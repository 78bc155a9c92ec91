/**
 * The `legate` command: parse options, load and check the configuration, then act on `--mode`.
 *
 * Main thread; the process entry point. Envoy counterpart: `main_common.cc`
 * (`MainCommonBase`), which builds `OptionsImpl`, then either validates the config
 * (`--mode validate`) or builds the server instance. Exit codes follow Envoy: 0 on
 * success, 1 for bad flags or a bad configuration.
 *
 * `serve` and `init_only` hand the checked configuration to the server instance
 * (`src/server/instance.ts`), after setting up logging and the signals: SIGTERM and SIGINT
 * drain and exit (a second one exits at once), SIGUSR1 reopens the log file.
 */
import { type FileLogSink, openFileLogSink, StreamLogSink } from '../common/log-sinks.ts';
import { configureLogging } from '../common/logger.ts';
import { type LoadedConfig, loadConfig } from '../config/bootstrap.ts';
import { formatIssue } from '../config/errors.ts';
import { ExtensionRegistry } from '../config/registry.ts';
import { realTimeSource } from '../event/time-source.ts';
import { HOT_RESTART_VERSION, Instance } from '../server/instance.ts';
import { helpText, type Options, parseOptions, versionText } from '../server/options.ts';
import {
  compiledInAccessLoggers,
  compiledInExtensions,
  compiledInNetworkFilters,
  defaultFileAccessLog,
  networkFilterRefusals,
} from './extensions.ts';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Loads and checks the config the options name; prints the issues; the config when it can run. */
function checkConfig(options: Options): LoadedConfig | undefined {
  const registry = new ExtensionRegistry(compiledInExtensions);
  for (const name of registry.disable(options.disabledExtensions)) {
    err(`warning: --disable-extensions: no compiled-in extension named '${name}'`);
  }
  const loaded = loadConfig(
    { configPath: options.configPath, configYaml: options.configYaml },
    { registry, allowUnknownFields: options.allowUnknownStaticFields },
  );
  for (const w of loaded.warnings) err(formatIssue(w));
  if (loaded.errors.length === 0) return loaded;
  for (const e of loaded.errors) err(formatIssue(e));
  const invalid = loaded.errors.filter((e) => e.kind === 'invalid').length;
  const unsupported = loaded.errors.length - invalid;
  const parts = [
    invalid > 0 ? `${invalid} error${invalid === 1 ? '' : 's'}` : '',
    unsupported > 0 ? `${unsupported} unsupported` : '',
  ]
    .filter((p) => p !== '')
    .join(', ');
  err(`configuration '${options.configPath || '<--config-yaml>'}' rejected: ${parts}`);
  return undefined;
}

/** Runs the server until it stops; resolves with the exit code. */
async function serve(options: Options, config: LoadedConfig): Promise<number> {
  let sink: FileLogSink | StreamLogSink;
  try {
    sink = options.logPath !== '' ? await openFileLogSink(options.logPath) : new StreamLogSink();
  } catch (e) {
    err(`Failed to open log-file '${options.logPath}': ${(e as Error).message}`);
    return 1;
  }
  const logs = configureLogging(options, { threadName: 'main_thread', now: realTimeSource.systemNow, sink });
  const runtimes = new Set(compiledInNetworkFilters.map((r) => r.name));
  const instance = new Instance({
    options,
    config,
    logs,
    hasNetworkRuntime: (name) => runtimes.has(name),
    networkFilterRefusals: (name, config) => networkFilterRefusals[name]?.(config) ?? [],
    env: process.env,
    accessLogRuntimes: compiledInAccessLoggers,
    defaultFileAccessLog,
  });
  const onSignal = (signal: NodeJS.Signals): void =>
    instance.dispatcher.run(() => instance.drainAndExit(signal));
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGUSR1', () => {
    logs.reopen();
    instance.reopenAccessLogs();
  });
  const code = await instance.run();
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  process.removeAllListeners('SIGUSR1');
  await sink.close();
  return code;
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseOptions(argv);
  if (!parsed.ok) {
    err(parsed.error);
    return parsed.exitCode;
  }
  switch (parsed.action) {
    case 'help':
      out(helpText());
      return 0;
    case 'version':
      out(versionText());
      return 0;
    case 'hot-restart-version':
      out(parsed.options.disableHotRestart ? 'disabled' : HOT_RESTART_VERSION);
      return 0;
    case 'run':
      break;
  }
  const options = parsed.options;
  const config = checkConfig(options);
  if (config === undefined) return 1;
  if (options.mode === 'validate') {
    out('OK');
    return 0;
  }
  return serve(options, config);
}

process.exitCode = await main(process.argv.slice(2));
