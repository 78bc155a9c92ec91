/**
 * The server instance: start-up in Envoy's order, the running server, drain and shutdown.
 *
 * Main thread. `run()` follows `InstanceImpl::initialize` then `run`: stats and logging ->
 * admin listener -> worker threads created (not started) -> guard dog -> listener manager
 * (static listeners as data) -> init manager waits for its targets (clusters, listeners)
 * -> the listeners go to every worker through a thread-local slot -> workers start
 * accepting -> LIVE. SIGTERM/SIGINT and `/quitquitquit` drain: listeners stop accepting,
 * open connections finish (or `--drain-time-s` passes), then everything closes and the
 * process exits 0; a second signal exits at once. A worker that throws or dies fails the
 * whole server loudly. The admin's operational state lives here too: a failed health check
 * (`/healthcheck/fail`: reported DRAINING, HTTP connections drain-close on every worker),
 * listeners stopped by `/drain_listeners`, log levels changed by `/logging` (posted to the
 * workers), the admin access log on main's own files, and the optional read-only admin
 * listener (`--admin-readonly-address`). Envoy counterpart: `Server::InstanceImpl`.
 */
import fs from 'node:fs';
import net from 'node:net';
import { AccessLogManagerImpl } from '../access-log/access-log-manager.ts';
import { AccessLogFileManager } from '../access-log/file-manager.ts';
import type { AccessLogEntry, AccessLogInstance, AccessLogRuntime } from '../access-log/types.ts';
import { adminAccessLog } from '../admin/access-log.ts';
import { type AdminAddress, AdminServer } from '../admin/admin-server.ts';
import { clustersHandlers } from '../admin/handlers/clusters.ts';
import {
  type ConfigDumpSource,
  configDumpHandlers,
  nodeWithUserAgent,
} from '../admin/handlers/config-dump.ts';
import { dashboardHandlers } from '../admin/handlers/dashboard.ts';
import { indexHandlers } from '../admin/handlers/index-page.ts';
import { initDumpHandlers } from '../admin/handlers/init-dump.ts';
import {
  type DrainListenersOptions,
  type ListenerAddress,
  type ListenersSource,
  listenersHandlers,
} from '../admin/handlers/listeners.ts';
import { type LoggingSource, loggingHandlers } from '../admin/handlers/logging.ts';
import { mainThread, profilePath, profilerHandlers } from '../admin/handlers/profiler.ts';
import { runtimeHandlers } from '../admin/handlers/runtime.ts';
import { type ServerInfoSource, serverHandlers } from '../admin/handlers/server.ts';
import { statsHandlers } from '../admin/handlers/stats.ts';
import type { LogLevelSnapshot } from '../common/log-types.ts';
import type { LogContext, Logger } from '../common/logger.ts';
import type { LoadedConfig } from '../config/bootstrap.ts';
import { durationMs } from '../config/durations.ts';
import { formatPath, type PathStep } from '../config/errors.ts';
import {
  at,
  boolField,
  messageField,
  messageList,
  numberField,
  stringField,
} from '../config/proto-fields.ts';
import type { ProtoMessage } from '../config/types.ts';
import { DispatcherImpl, realBackend } from '../event/dispatcher.ts';
import type { Timer } from '../event/types.ts';
import { createAcceptedSocketCount } from '../network/connection-handler.ts';
import { runtimeConfig } from '../runtime/config.ts';
import { RuntimeLoader } from '../runtime/loader.ts';
import { StatsStore } from '../stats/store.ts';
import { tagProducerFromConfig } from '../stats/tag-extractor.ts';
import { ThreadStats } from '../stats/thread-stats.ts';
import type { Gauge } from '../stats/types.ts';
import type { WorkerToMain } from '../thread-local/messages.ts';
import { ThreadLocalInstance } from '../thread-local/thread-local.ts';
import { ClusterManager } from '../upstream/cluster-manager.ts';
import { createClusterDiscovery } from '../upstream/discovery/factory.ts';
import { serverDnsResolverSettings } from '../upstream/discovery/resolver.ts';
import { StaticDiscovery } from '../upstream/discovery/static.ts';
import type { HostData } from '../upstream/types.ts';
import { dispatcherStats } from './dispatcher-stats.ts';
import {
  startGuardDogThread,
  startHeartbeat,
  testStallFor,
  touchIntervalMs,
  type WatchedThread,
  watchdogConfigs,
} from './guard-dog.ts';
import { InitManager } from './init-manager.ts';
import { ListenerManager } from './listener-manager.ts';
import { LEGATE_VERSION, type Options } from './options.ts';
import { SERVER_STATE_GAUGE, type ServerState } from './server-state.ts';
import { WorkerHandle } from './worker.ts';

/** Processes with equal hot restart versions may hand sockets over. */
export const HOT_RESTART_VERSION = 'legate.1';

const WORKER_STOP_TIMEOUT_MS = 5000;

export interface InstanceDeps {
  readonly options: Options;
  readonly config: LoadedConfig;
  /** The main thread's logging, already configured from the options. */
  readonly logs: LogContext;
  /** Whether a network filter has a data path in this build. */
  readonly hasNetworkRuntime: (extension: string) => boolean;
  /** Fields of a network filter's config that this build's data path does not implement. */
  readonly networkFilterRefusals?: (
    extension: string,
    config: unknown,
  ) => Array<{ field: string; reason: string }>;
  /** Environment for test-only switches (LEGATE_TEST_STALL_WORKER). */
  readonly env: NodeJS.ProcessEnv;
  /** The access loggers' data-path halves, for the admin's `access_log` on main. */
  readonly accessLogRuntimes?: readonly AccessLogRuntime[];
  /** A file access log with Envoy's default format (the admin's deprecated `access_log_path`). */
  readonly defaultFileAccessLog?: (path: string) => AccessLogEntry;
}

interface ServerGauges {
  readonly live: Gauge;
  readonly state: Gauge;
  readonly uptime: Gauge;
  readonly concurrency: Gauge;
  readonly version: Gauge;
  readonly hotRestartEpoch: Gauge;
  readonly memoryAllocated: Gauge;
  readonly memoryHeapSize: Gauge;
  readonly totalConnections: Gauge;
  readonly parentConnections: Gauge;
}

/** What the read-only admin listener (`--admin-readonly-address`) serves. */
const READ_ONLY_ADMIN_PATHS = ['/ready', '/stats', '/stats/prometheus'];

export class Instance implements ServerInfoSource {
  readonly version = LEGATE_VERSION;
  readonly dispatcher = new DispatcherImpl('main_thread', realBackend());
  readonly store = new StatsStore();
  readonly stats: ThreadStats;
  readonly admin = new AdminServer({ clock: this.dispatcher.timeSource });
  readonly initManager = new InitManager('Server');
  private readonly deps: InstanceDeps;
  private readonly options: Options;
  private readonly bootstrap: ProtoMessage;
  private readonly log: Logger;
  private readonly threadLocal = new ThreadLocalInstance();
  private readonly listenerManager: ListenerManager;
  readonly clusterManager: ClusterManager;
  /** The layered runtime (`layered_runtime`); its snapshots reach workers through the `runtime` slot. */
  readonly runtime: RuntimeLoader;
  /** Downstream sockets open across every worker: the global connection limit's count. */
  private readonly acceptedSockets = createAcceptedSocketCount();
  private readonly gauges: ServerGauges;
  private readonly startMs: number;
  private stateValue: ServerState = 'PRE_INITIALIZING';
  private workers: WorkerHandle[] = [];
  private guardDog: import('node:worker_threads').Worker | undefined;
  private heartbeat: Timer | undefined;
  private flushTimer: Timer | undefined;
  private drainTimer: Timer | undefined;
  private pendingStarts = new Set<number>();
  private pendingDrains = new Set<number>();
  private stopping = false;
  private heartbeatCells: SharedArrayBuffer | undefined;
  private readonly readyWorkers = new Set<number>();
  private onAllReady: (() => void) | undefined;
  private finish: ((code: number) => void) | undefined;
  // --- Operational admin state (config dump, health check, drain_listeners, admin access log)
  /** Wall-clock ms the configuration was loaded (`last_updated` in `/config_dump`). */
  private readonly loadedAtMs: number;
  /** `/healthcheck/fail` until `/healthcheck/ok`: the server reports DRAINING. */
  private healthCheckFailed = false;
  /** `/drain_listeners?graceful` started the drain sequence (later calls are ignored, as in Envoy). */
  private drainSequenceStarted = false;
  private drainListenersTimer: Timer | undefined;
  private readOnlyAdmin: AdminServer | undefined;
  /** The main thread's access-log files (the admin's `access_log`). */
  private readonly accessLogFiles = new AccessLogFileManager({ schedule: (cb) => this.dispatcher.post(cb) });

  constructor(deps: InstanceDeps) {
    this.deps = deps;
    this.options = deps.options;
    if (deps.config.message === undefined) throw new Error('bug: Instance needs a loaded bootstrap');
    this.bootstrap = deps.config.message;
    this.log = deps.logs.getLogger('main');
    this.startMs = this.dispatcher.timeSource.monotonicNow();
    this.loadedAtMs = this.dispatcher.timeSource.systemNow();
    this.stats = new ThreadStats((update) => this.store.attach('main_thread', update), { immediate: true });
    if (this.dispatcherStatsEnabled()) this.dispatcher.setStats(dispatcherStats(this.stats, 'main_thread'));
    const server = this.stats.scope('server.');
    this.gauges = {
      live: server.gauge('live', 'NeverImport'),
      state: server.gauge('state', 'NeverImport'),
      uptime: server.gauge('uptime', 'NeverImport'),
      concurrency: server.gauge('concurrency', 'NeverImport'),
      version: server.gauge('version', 'NeverImport'),
      hotRestartEpoch: server.gauge('hot_restart_epoch', 'NeverImport'),
      memoryAllocated: server.gauge('memory_allocated', 'NeverImport'),
      memoryHeapSize: server.gauge('memory_heap_size', 'NeverImport'),
      totalConnections: server.gauge('total_connections', 'NeverImport'),
      parentConnections: server.gauge('parent_connections', 'NeverImport'),
    };
    this.gauges.concurrency.set(this.options.concurrency);
    this.gauges.version.set(versionNumber(LEGATE_VERSION));
    this.gauges.hotRestartEpoch.set(this.options.restartEpoch);

    // ── Runtime ──────────────────────────────────────────────────────────────────────────
    // After the thread-local registry, before the cluster manager (Envoy's order). The first
    // snapshot is posted to the `runtime` slot now and replayed to each worker as it
    // registers; `initialize` reports the layered runtime's errors and starts the disk watches.
    this.runtime = new RuntimeLoader(runtimeConfig(this.bootstrap), {
      dispatcher: this.dispatcher,
      scope: this.stats,
      slot: this.threadLocal.allocateSlot('runtime'),
      serviceCluster: stringField(this.node(), 'cluster'),
    });
    // ─────────────────────────────────────────────────────────────────────────────────────

    this.clusterManager = new ClusterManager(this.stats, this.threadLocal.allocateSlot('clusters'));
    this.listenerManager = new ListenerManager(this.stats, this.threadLocal.allocateSlot('listeners'));
    this.setState('PRE_INITIALIZING');
  }

  /** Initializes and serves until the server stops; resolves with the process exit code. */
  run(): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.finish = resolve;
    });
    this.initialize().catch((err: unknown) =>
      this.fatal(`initialization failed: ${err instanceof Error ? err.message : String(err)}`),
    );
    return done;
  }

  private async initialize(): Promise<void> {
    this.log.info(
      `initializing epoch ${this.options.restartEpoch} (version ${LEGATE_VERSION}, concurrency ${this.options.concurrency})`,
    );

    const serverResolver = serverDnsResolverSettings(this.bootstrap);
    const buildErrors = [
      ...this.runtime.start(),
      ...(typeof serverResolver === 'string' ? [{ step: undefined, message: serverResolver }] : []),
      ...this.clusterManager.addStaticClusters(this.bootstrap, (cluster) =>
        cluster['type'] === 'ORIGINAL_DST'
          ? new StaticDiscovery([])
          : createClusterDiscovery(cluster, {
              dispatcher: this.dispatcher,
              serverResolver: typeof serverResolver === 'string' ? undefined : serverResolver,
            }),
      ),
      ...this.listenerManager.addStaticListeners(
        this.bootstrap,
        this.deps.config.extensions,
        this.deps.hasNetworkRuntime,
      ),
      ...this.adminAccessLogErrors(),
    ];
    if (buildErrors.length > 0) {
      for (const e of buildErrors) this.log.critical(`${formatPath(e.step)}: ${e.message}`);
      this.fatal('the configuration cannot be served by this build');
      return;
    }
    await this.startAdmin();
    await this.listenerManager.resolveEphemeralPorts();

    // Workers are created now and started only when the init manager is done.
    const watched = this.createWorkers();
    this.startGuardDog(watched);
    this.startStatsFlush();

    // Each cluster is a target: STATIC ready at once, DNS clusters after their first answers.
    this.clusterManager.initialize(this.initManager);
    for (const l of this.listenerManager.listeners())
      this.initManager.add(`Listener-init-target ${l.name}`, (t) => t.ready());
    await this.whenWorkersReady();
    this.setState('INITIALIZING');
    this.initManager.initialize(() => this.dispatcher.run(() => this.onInitialized()));
  }

  private onInitialized(): void {
    if (this.options.mode === 'init_only') {
      this.log.info('init_only: initialized, exiting');
      this.shutdown(0);
      return;
    }
    this.listenerManager.distribute(() => {
      this.pendingStarts = new Set(this.workers.map((w) => w.index));
      for (const w of this.workers) w.send({ type: 'listeners.start' });
    });
  }

  private onWorkerStarted(
    worker: WorkerHandle,
    failures: readonly { listener: string; error: string }[],
  ): void {
    this.listenerManager.onWorkerStarted(failures);
    if (failures.length > 0) {
      for (const f of failures)
        this.log.critical(`${worker.name}: listener '${f.listener}' failed to bind: ${f.error}`);
      this.fatal('a listener could not bind');
      return;
    }
    this.pendingStarts.delete(worker.index);
    if (this.pendingStarts.size > 0 || this.stateValue !== 'INITIALIZING') return;
    this.listenerManager.onAllWorkersStarted();
    this.setState('LIVE');
    const addresses = this.listenerManager
      .listeners()
      .map((l) => ('pipe' in l.address ? l.address.pipe : `${l.address.host}:${l.address.port}`));
    this.log.info(
      `all ${this.workers.length} workers started; listening on ${addresses.join(', ') || 'no listener'}`,
    );
  }

  private async startAdmin(): Promise<void> {
    for (const h of serverHandlers(this, this.admin)) this.admin.addHandler(h);
    const tags = tagProducerFromConfig(messageField(this.bootstrap, 'stats_config'), this.options.statsTags);
    for (const h of statsHandlers(this.store, () => this.updateServerStats(), tags)) this.admin.addHandler(h);
    for (const h of clustersHandlers(this.clusterManager)) this.admin.addHandler(h);
    for (const h of runtimeHandlers(this.runtime)) this.admin.addHandler(h);

    // The live dashboard and the profilers (main thread and every worker).
    const adminLog = this.deps.logs.getLogger('admin');
    for (const h of dashboardHandlers()) this.admin.addHandler(h);
    const profiler = profilerHandlers({
      profilePath: profilePath(stringField(messageField(this.bootstrap, 'admin'), 'profile_path')),
      threads: () => [mainThread, ...this.workers],
      log: (line) => adminLog.info(line),
    });
    for (const h of profiler) this.admin.addHandler(h);

    this.registerOperationalAdminHandlers();
    const adminConfig = messageField(this.bootstrap, 'admin');
    this.admin.setAccessLog(adminAccessLog(this.createAdminAccessLogs(adminConfig)));
    const address = messageField(adminConfig, 'address');
    if (address !== undefined) {
      const sa = messageField(address, 'socket_address');
      const pipe = messageField(address, 'pipe');
      const listenOn: AdminAddress =
        sa !== undefined
          ? { host: stringField(sa, 'address'), port: numberField(sa, 'port_value', 0) }
          : { pipe: stringField(pipe, 'path'), mode: numberField(pipe, 'mode', 0) || undefined };
      const bound = await this.admin.listen(listenOn);
      this.log.info(`admin address: ${bound}`);
      if ('host' in listenOn && !isLoopback(listenOn.host)) {
        this.log.warn(
          `the admin listens on ${bound}, which is reachable from other hosts: anyone who can connect ` +
            'can change or stop this server (POST /quitquitquit, /logging, /drain_listeners ...). Bind ' +
            'admin.address to 127.0.0.1 or a Unix socket, and give remote probes --admin-readonly-address',
        );
      }
      // --admin-address-path: where tools (and tests) learn the port when it was 0.
      if (this.options.adminAddressPath !== '') fs.writeFileSync(this.options.adminAddressPath, bound);
    }
    const readOnly = this.options.adminReadonlyAddress;
    if (readOnly !== undefined) {
      this.readOnlyAdmin = this.admin.readOnlyView(READ_ONLY_ADMIN_PATHS);
      const bound = await this.readOnlyAdmin.listen(readOnly);
      this.log.info(`read-only admin address: ${bound} (${READ_ONLY_ADMIN_PATHS.join(', ')})`);
    }
  }

  // --- Operational admin endpoints: /, config_dump, listeners, drain_listeners, logging,
  // reopen_logs, init_dump (health check, memory, certs and hot_restart_version are in
  // serverHandlers).
  private registerOperationalAdminHandlers(): void {
    const handlers = [
      ...indexHandlers(this.admin),
      ...configDumpHandlers(this.configDumpSource()),
      ...listenersHandlers(this.listenersSource()),
      ...loggingHandlers(this.loggingSource()),
      ...initDumpHandlers(() => [this.initManager]),
    ];
    for (const h of handlers) this.admin.addHandler(h);
  }

  private configDumpSource(): ConfigDumpSource {
    return {
      bootstrap: () => ({ ...this.bootstrap, node: nodeWithUserAgent(this.node(), LEGATE_VERSION) }),
      loadedAtMs: () => this.loadedAtMs,
      clusterHosts: () => {
        const hosts = new Map<string, readonly HostData[]>();
        for (const { data } of this.clusterManager.snapshot()) hosts.set(data.name, data.hosts);
        return hosts;
      },
    };
  }

  private listenersSource(): ListenersSource {
    return {
      listenerAddresses: () =>
        this.listenerManager
          .listeners()
          .map((l): { name: string; address: ListenerAddress } => ({ name: l.name, address: l.address })),
      drainListeners: (o) => this.dispatcher.run(() => this.drainListeners(o)),
    };
  }

  private loggingSource(): LoggingSource {
    return {
      logs: this.deps.logs,
      onLevelsChanged: (levels: LogLevelSnapshot) => {
        for (const w of this.workers) w.send({ type: 'logs.levels', levels });
      },
      reopenLogs: () => {
        this.deps.logs.reopen();
        this.reopenAccessLogs();
      },
    };
  }

  /**
   * `/drain_listeners`: stop the listeners accepting, without exiting. `graceful` first runs
   * the drain sequence for `--drain-time-s` (connections asked to close); `skipExit` then
   * leaves the listeners open. Envoy counterpart: `ListenersHandler::handlerDrainListeners`.
   */
  private drainListeners(o: DrainListenersOptions): void {
    const stop = (): void => {
      const names = this.listenerManager.stopListeners(o.inboundOnly);
      if (names.length === 0) return;
      this.log.info(`/drain_listeners: stopped listening on ${names.join(', ')}`);
      for (const w of this.workers) w.send({ type: 'listeners.stop', names });
    };
    if (!o.graceful) {
      stop();
      return;
    }
    if (this.drainSequenceStarted || this.stopping) return;
    this.drainSequenceStarted = true;
    const drainTimeMs = this.options.drainTimeS * 1000;
    this.log.info(`/drain_listeners: drain sequence of ${this.options.drainTimeS}s started`);
    for (const w of this.workers)
      w.send({ type: 'drain.sequence', drainTimeMs, strategy: this.options.drainStrategy });
    if (o.skipExit) return;
    this.drainListenersTimer = this.dispatcher.createTimer(stop);
    this.drainListenersTimer.enableTimer(drainTimeMs);
  }

  /** `/healthcheck/fail` and `/healthcheck/ok`. */
  failHealthcheck(fail: boolean): void {
    this.dispatcher.run(() => {
      if (this.healthCheckFailed === fail) return;
      this.healthCheckFailed = fail;
      this.log.info(
        fail ? 'health checks failed by /healthcheck/fail' : 'health checks pass again (/healthcheck/ok)',
      );
      this.setState(this.stateValue);
      for (const w of this.workers) w.send({ type: 'healthcheck.failed', failed: fail });
    });
  }

  /** TLS contexts in use: none until Legate terminates TLS. */
  certificates(): readonly Record<string, unknown>[] {
    return [];
  }

  get hotRestartVersion(): string {
    return this.options.disableHotRestart ? 'disabled' : HOT_RESTART_VERSION;
  }

  /** Admin access logs this build cannot write: filters are not implemented yet. */
  private adminAccessLogErrors(): Array<{ step: PathStep | undefined; message: string }> {
    const errors: Array<{ step: PathStep | undefined; message: string }> = [];
    messageList(messageField(this.bootstrap, 'admin'), 'access_log').forEach((entry, i) => {
      if (entry['filter'] !== undefined)
        errors.push({
          step: at(undefined, 'admin', 'access_log', i, 'filter'),
          message: 'not supported by Legate yet: access log filters',
        });
    });
    return errors;
  }

  /** The admin's `access_log` loggers (and `access_log_path`), on the main thread's files. */
  private createAdminAccessLogs(adminConfig: ProtoMessage | undefined): AccessLogInstance[] {
    const manager = new AccessLogManagerImpl({
      runtimes: this.deps.accessLogRuntimes ?? [],
      files: this.accessLogFiles,
      monotonicNow: () => this.dispatcher.timeSource.monotonicNow(),
    });
    const entries: AccessLogEntry[] = [];
    for (const entry of messageList(adminConfig, 'access_log')) {
      const resolved = this.deps.config.extensions.get(entry);
      if (resolved !== undefined) entries.push({ extension: resolved.name, config: resolved.config });
    }
    const path = stringField(adminConfig, 'access_log_path');
    if (path !== '' && this.deps.defaultFileAccessLog !== undefined)
      entries.push(this.deps.defaultFileAccessLog(path));
    return entries.map((e) => manager.create(e));
  }

  /** Envoy's `enable_dispatcher_stats` (default off): the loop-duration and poll-delay histograms. */
  private dispatcherStatsEnabled(): boolean {
    return boolField(this.bootstrap, 'enable_dispatcher_stats');
  }

  private createWorkers(): WatchedThread[] {
    const configs = watchdogConfigs(this.bootstrap);
    const watched: WatchedThread[] = [{ name: 'main_thread', config: configs.main }];
    for (let i = 0; i < this.options.concurrency; i++)
      watched.push({ name: `worker_${i}`, config: configs.worker });
    const interval = touchIntervalMs(watched);
    const cells = new SharedArrayBuffer(4 * watched.length);
    this.heartbeatCells = cells;
    this.heartbeat = startHeartbeat(this.dispatcher, cells, 0, interval);
    const o = this.options;
    const logOptions = {
      logLevel: o.logLevel,
      componentLogLevels: o.componentLogLevels,
      logFormat: o.logFormat,
      logFormatEscaped: o.logFormatEscaped,
    };
    for (let i = 0; i < this.options.concurrency; i++) {
      const worker = new WorkerHandle(
        {
          index: i,
          concurrency: this.options.concurrency,
          log: logOptions,
          heartbeats: cells,
          heartbeatIndex: i + 1,
          acceptedSockets: this.acceptedSockets,
          touchIntervalMs: interval,
          dispatcherStats: this.dispatcherStatsEnabled(),
          testStallMs: testStallFor(i, this.deps.env['LEGATE_TEST_STALL_WORKER']),
          testCrash: this.deps.env['LEGATE_TEST_CRASH_WORKER'] === String(i),
        },
        {
          onMessage: (w, message) => this.dispatcher.run(() => this.onWorkerMessage(w, message)),
          onFatal: (w, cause) => this.dispatcher.run(() => this.fatal(`${w.name} failed: ${cause}`)),
        },
      );
      this.workers.push(worker);
      this.threadLocal.registerWorker(worker);
      // Levels a `/logging` call changed since start-up (the admin is up before the workers).
      worker.send({ type: 'logs.levels', levels: this.deps.logs.levels() });
    }
    return watched;
  }

  private whenWorkersReady(): Promise<void> {
    if (this.readyWorkers.size === this.workers.length) return Promise.resolve();
    return new Promise((resolve) => {
      this.onAllReady = resolve;
    });
  }

  private startGuardDog(watched: WatchedThread[]): void {
    const cells = this.heartbeatCells;
    if (cells === undefined) return;
    this.guardDog = startGuardDogThread(
      { cells, threads: watched },
      (message) => {
        const m = message as WorkerToMain;
        if (m.type === 'stats') this.dispatcher.run(() => this.store.attach('guard_dog', m.update));
      },
      (err) => this.dispatcher.run(() => this.fatal(`guard dog failed: ${err.message}`)),
    );
  }

  private onWorkerMessage(worker: WorkerHandle, message: WorkerToMain): void {
    switch (message.type) {
      case 'worker.ready':
        this.readyWorkers.add(worker.index);
        if (this.readyWorkers.size === this.workers.length) this.onAllReady?.();
        return;
      case 'tls.applied':
        this.threadLocal.onApplied(worker.index, message.seq);
        return;
      case 'listeners.started':
        this.onWorkerStarted(worker, message.failures);
        return;
      case 'stats':
        this.store.attach(worker.name, message.update);
        return;
      case 'log':
        this.deps.logs.writeLine(message.line);
        return;
      case 'drained':
        this.pendingDrains.delete(worker.index);
        if (this.pendingDrains.size === 0 && this.stateValue === 'DRAINING') {
          this.log.info('drained: no connection left open');
          this.shutdown(0);
        }
        return;
      case 'shutdown.done':
        return;
    }
  }

  private startStatsFlush(): void {
    const intervalMs = durationMs(this.bootstrap['stats_flush_interval'], 5000);
    this.flushTimer = this.dispatcher.createTimer(() => {
      this.updateServerStats();
      this.store.flush();
      this.flushTimer?.enableTimer(intervalMs);
    });
    this.flushTimer.enableTimer(intervalMs);
  }

  /** Refreshes the gauges computed on demand (uptime, memory, connections). */
  updateServerStats(): void {
    this.clusterManager.updateStats();
    this.gauges.uptime.set(this.uptimeCurrentEpochSeconds());
    const memory = process.memoryUsage();
    this.gauges.memoryAllocated.set(memory.heapUsed);
    this.gauges.memoryHeapSize.set(memory.heapTotal);
    let connections = 0;
    for (const [name, value] of this.store.gauges()) {
      if (
        name.startsWith('listener.') &&
        name.endsWith('.downstream_cx_active') &&
        !/\.worker_\d+\.downstream_cx_active$/.test(name)
      ) {
        connections += value;
      }
    }
    this.gauges.totalConnections.set(connections);
  }

  /**
   * SIGTERM, SIGINT, /quitquitquit: stop accepting, let open connections finish, exit 0
   * once none is left or `--drain-time-s` has passed. Asked again while draining: exit now.
   */
  drainAndExit(reason: string): void {
    if (this.stateValue === 'DRAINING' || this.stopping) {
      this.log.warn(`${reason} again while draining: exiting now`);
      this.shutdown(0);
      return;
    }
    if (this.stateValue !== 'LIVE') {
      this.log.info(`${reason} before the server was live: exiting`);
      this.shutdown(0);
      return;
    }
    const drainTimeMs = this.options.drainTimeS * 1000;
    this.log.info(
      `${reason}: draining listeners for up to ${this.options.drainTimeS}s (${this.options.drainStrategy})`,
    );
    this.setState('DRAINING');
    this.listenerManager.onDrainStarted();
    this.pendingDrains = new Set(this.workers.map((w) => w.index));
    for (const w of this.workers)
      w.send({ type: 'drain.start', drainTimeMs, strategy: this.options.drainStrategy });
    this.drainTimer = this.dispatcher.createTimer(() => {
      this.log.info('drain time over: closing the connections still open');
      this.shutdown(0);
    });
    this.drainTimer.enableTimer(drainTimeMs);
  }

  /** Closes every worker, the admin and the guard dog, then resolves `run()` with `code`. */
  shutdown(code: number): void {
    if (this.stopping) return;
    this.stopping = true;
    this.threadLocal.shutdownThread();
    this.drainTimer?.disableTimer();
    this.drainListenersTimer?.disableTimer();
    this.flushTimer?.disableTimer();
    this.heartbeat?.disableTimer();
    this.clusterManager.destroy();
    this.runtime.shutdown();
    for (const w of this.workers) w.stop();
    this.guardDog?.postMessage({ type: 'shutdown' });
    const stopped = Promise.all(this.workers.map((w) => w.whenExited()));
    const timeout = this.dispatcher.createTimer(() => {
      for (const w of this.workers) void w.terminate();
    });
    timeout.enableTimer(WORKER_STOP_TIMEOUT_MS);
    void stopped
      .then(() =>
        Promise.all([this.admin.close(), this.readOnlyAdmin?.close(), this.accessLogFiles.closeAll()]),
      )
      .then(async () => {
        timeout.disableTimer();
        await this.guardDog?.terminate();
        this.dispatcher.exit();
        this.log.info(`exiting (code ${code})`);
        this.finish?.(code);
      });
  }

  private fatal(cause: string): void {
    this.log.critical(cause);
    if (this.stopping) return;
    for (const w of this.workers) void w.terminate();
    this.shutdown(1);
  }

  private setState(state: ServerState): void {
    this.stateValue = state;
    const reported = this.state();
    this.gauges.state.set(SERVER_STATE_GAUGE[reported]);
    this.gauges.live.set(reported === 'LIVE' ? 1 : 0);
  }

  // ServerInfoSource
  /** The state the admin and `server.state` report: a live server failing its health checks is DRAINING, as in Envoy. */
  state(): ServerState {
    return this.stateValue === 'LIVE' && this.healthCheckFailed ? 'DRAINING' : this.stateValue;
  }

  uptimeCurrentEpochSeconds(): number {
    return Math.floor((this.dispatcher.timeSource.monotonicNow() - this.startMs) / 1000);
  }

  uptimeAllEpochsSeconds(): number {
    return this.uptimeCurrentEpochSeconds();
  }

  /** SIGUSR1: the workers reopen their access log files. */
  reopenAccessLogs(): void {
    this.accessLogFiles.reopenAll();
    for (const w of this.workers) w.send({ type: 'logs.reopen' });
  }

  quit(): void {
    this.dispatcher.post(() => this.drainAndExit('/quitquitquit'));
  }

  node(): ProtoMessage {
    const node: ProtoMessage = { ...(messageField(this.bootstrap, 'node') ?? {}) };
    if (this.options.serviceCluster !== '') node['cluster'] = this.options.serviceCluster;
    if (this.options.serviceNode !== '') node['id'] = this.options.serviceNode;
    if (this.options.serviceZone !== '')
      node['locality'] = { ...(messageField(node, 'locality') ?? {}), zone: this.options.serviceZone };
    return node;
  }

  commandLineOptions(): Record<string, unknown> {
    const o = this.options;
    return {
      base_id: String(o.baseId),
      use_dynamic_base_id: o.useDynamicBaseId,
      base_id_path: o.baseIdPath,
      concurrency: o.concurrency,
      config_path: o.configPath,
      config_yaml: o.configYaml,
      allow_unknown_static_fields: o.allowUnknownStaticFields,
      reject_unknown_dynamic_fields: o.rejectUnknownDynamicFields,
      ignore_unknown_dynamic_fields: o.ignoreUnknownDynamicFields,
      admin_address_path: o.adminAddressPath,
      local_address_ip_version: o.localAddressIpVersion,
      log_level: o.logLevel,
      component_log_level: o.componentLogLevelString,
      log_format: o.logFormat,
      log_format_escaped: o.logFormatEscaped,
      log_path: o.logPath,
      service_cluster: o.serviceCluster,
      service_node: o.serviceNode,
      service_zone: o.serviceZone,
      drain_strategy: o.drainStrategy === 'gradual' ? 'Gradual' : 'Immediate',
      mode: o.mode === 'serve' ? 'Serve' : o.mode === 'validate' ? 'Validate' : 'InitOnly',
      disable_hot_restart: o.disableHotRestart,
      enable_mutex_tracing: o.enableMutexTracing,
      restart_epoch: o.restartEpoch,
      cpuset_threads: o.cpusetThreads,
      disabled_extensions: o.disabledExtensions,
      enable_fine_grain_logging: o.enableFineGrainLogging,
      socket_path: o.socketPath,
      socket_mode: o.socketMode,
      enable_core_dump: o.enableCoreDump,
      stats_tag: o.statsTags.map((t) => `${t.name}:${t.value}`),
      file_flush_interval: `${o.fileFlushIntervalMsec / 1000}s`,
      drain_time: `${o.drainTimeS}s`,
      parent_shutdown_time: `${o.parentShutdownTimeS}s`,
    };
  }
}

/** A loopback address or name: the admin is reachable from this host only. */
function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice(7) : host;
  if (net.isIPv4(v4)) return v4.startsWith('127.');
  return host === '::1';
}

/** `1.2.3` -> 10203: a number for the `server.version` gauge. */
function versionNumber(version: string): number {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return major * 10000 + minor * 100 + patch;
}
