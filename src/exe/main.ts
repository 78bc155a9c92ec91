/**
 * The `legate` command: parse options, load and check the configuration, then act on `--mode`.
 *
 * Main thread; the process entry point. Envoy counterpart: `main_common.cc`
 * (`MainCommonBase`), which builds `OptionsImpl`, then either validates the config
 * (`--mode validate`) or builds the server instance. Exit codes follow Envoy: 0 on
 * success, 1 for bad flags or a bad configuration.
 *
 * The server itself (workers, listeners, admin) is the next step of the project; until it
 * lands, `serve` and `init_only` load and check the configuration and say so.
 */
import { loadConfig } from '../config/bootstrap.ts';
import { formatIssue } from '../config/errors.ts';
import { ExtensionRegistry } from '../config/registry.ts';
import { helpText, type Options, parseOptions, versionText } from '../server/options.ts';
import { compiledInExtensions } from './extensions.ts';

/** Hot restart compatibility version: processes with equal versions may hand over sockets. */
const HOT_RESTART_VERSION = 'legate.1';

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

function err(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Loads and checks the config the options name; prints the issues; true when it can run. */
function checkConfig(options: Options): boolean {
  const registry = new ExtensionRegistry(compiledInExtensions);
  for (const name of registry.disable(options.disabledExtensions)) {
    err(`warning: --disable-extensions: no compiled-in extension named '${name}'`);
  }
  const loaded = loadConfig(
    { configPath: options.configPath, configYaml: options.configYaml },
    { registry, allowUnknownFields: options.allowUnknownStaticFields },
  );
  for (const w of loaded.warnings) err(formatIssue(w));
  if (loaded.errors.length === 0) return true;
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
  return false;
}

export function main(argv: readonly string[]): number {
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
  if (!checkConfig(options)) return 1;
  if (options.mode === 'validate') {
    out('OK');
    return 0;
  }
  out(
    `configuration '${options.configPath || '<--config-yaml>'}' OK (mode ${options.mode}); ` +
      'the server itself is not built yet, so Legate exits here',
  );
  return 0;
}

process.exitCode = main(process.argv.slice(2));
