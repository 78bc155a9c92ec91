/**
 * Admin `/logging` (change log levels) and `/reopen_logs`.
 *
 * Main thread. `POST /logging?level=<level>` sets every logger, `?<logger>=<level>` one,
 * `?paths=<logger>:<level>,...` several; every change is checked before any is applied (an
 * unknown logger or level changes nothing and answers 400 with the usage), then applied
 * to the main thread's loggers and posted to every worker (`onLevelsChanged`). Every
 * answer ends with the active loggers and their levels. `POST /reopen_logs` reopens the
 * application log and the access logs, as SIGUSR1 does. Envoy counterpart: `LogsHandler`
 * (source/server/admin/logs_handler.cc).
 */
import { LOG_LEVELS, type LoggerId, type LogLevel, type LogLevelSnapshot } from '../../common/log-types.ts';
import type { LogContext } from '../../common/logger.ts';
import { type AdminHandler, text } from '../admin-server.ts';

export interface LoggingSource {
  /** The main thread's log context. */
  readonly logs: LogContext;
  /** Sends the main thread's levels, just changed, to the other threads. */
  onLevelsChanged(levels: LogLevelSnapshot): void;
  /** `/reopen_logs`: the application log and every access log reopen their files. */
  reopenLogs(): void;
}

function parseLevel(value: string): LogLevel | undefined {
  return LOG_LEVELS.find((l) => l === value);
}

/** The changes a query asks for, or why it cannot be applied (Envoy's `changeLogLevel`). */
function requestedChanges(
  query: URLSearchParams,
  logs: LogContext,
): { all: LogLevel } | { some: Map<LoggerId, LogLevel> } | { error: string } | undefined {
  const params = new Map<string, string>();
  for (const [k, v] of query) if (!params.has(k)) params.set(k, v);
  // The HTML form sends `level` and `paths` empty when not filled in.
  if (params.get('level') === '') params.delete('level');
  if (params.get('paths') === '') params.delete('paths');
  if (params.size === 0) return undefined;
  if (params.size !== 1) return { error: 'invalid number of parameters' };
  const level = params.get('level');
  if (level !== undefined) {
    const parsed = parseLevel(level);
    return parsed === undefined ? { error: 'unknown logger level' } : { all: parsed };
  }
  const pairs: Array<[string, string]> = [];
  const paths = params.get('paths');
  if (paths !== undefined) {
    for (const item of paths.split(',')) {
      if (item.trim() === '') continue;
      const colon = item.indexOf(':');
      const name = colon < 0 ? item.trim() : item.slice(0, colon).trim();
      const lvl = colon < 0 ? '' : item.slice(colon + 1).trim();
      if (name === '' || lvl === '') return { error: 'empty logger name or empty logger level' };
      pairs.push([name, lvl]);
    }
  } else {
    const [name, lvl] = [...params][0] ?? ['', ''];
    pairs.push([name, lvl]);
  }
  const some = new Map<LoggerId, LogLevel>();
  for (const [name, lvl] of pairs) {
    const parsed = parseLevel(lvl);
    if (parsed === undefined) return { error: 'unknown logger level' };
    const logger = logs.findLogger(name);
    if (logger === undefined) return { error: 'unknown logger name' };
    some.set(logger.name, parsed);
  }
  return { some };
}

function activeLoggers(logs: LogContext): string {
  return `active loggers:\n${logs
    .loggers()
    .map((l) => `  ${l.name}: ${l.level}\n`)
    .join('')}\n`;
}

const USAGE =
  'usage: /logging?<name>=<level> (change single level)\n' +
  'usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n' +
  'usage: /logging?level=<level> (change all levels)\n' +
  `levels: ${LOG_LEVELS.map((l) => `${l} `).join('')}\n`;

export function loggingHandlers(source: LoggingSource): AdminHandler[] {
  return [
    {
      path: '/logging',
      help: 'query/change logging levels',
      mutates: true,
      params: [
        {
          name: 'paths',
          type: 'string',
          help: 'Change multiple logging levels by setting to <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>.',
        },
        {
          name: 'level',
          type: 'enum',
          choices: ['', ...LOG_LEVELS],
          help: "desired logging level, this will change all loggers's level",
        },
      ],
      handle: (query) => {
        const changes = requestedChanges(query, source.logs);
        if (changes !== undefined && 'error' in changes) {
          return text(`error: ${changes.error}\n\n${USAGE}${activeLoggers(source.logs)}`, 400);
        }
        if (changes !== undefined) {
          if ('all' in changes) source.logs.setLevel(changes.all);
          else for (const [id, level] of changes.some) source.logs.setComponentLevel(id, level);
          source.onLevelsChanged(source.logs.levels());
        }
        return text(activeLoggers(source.logs));
      },
    },
    {
      path: '/reopen_logs',
      help: 'reopen access logs',
      mutates: true,
      handle: () => {
        source.reopenLogs();
        return text('OK\n');
      },
    },
  ];
}
