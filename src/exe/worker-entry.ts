/**
 * A worker thread's entry point: its Dispatcher, stats, logger, clusters, access logs and
 * connection handler.
 *
 * Worker thread `worker_<n>`. Everything it learns from main arrives as data on its
 * MessagePort (`MainToWorker`), handled in order inside the Dispatcher: the `runtime`,
 * `clusters` and `listeners` slots rebuild this worker's own objects. Everything it tells
 * main (stats segments, log lines, acknowledgements) goes back the same way. Envoy counterpart:
 * `WorkerImpl::threadRoutine` with the worker's `ConnectionHandlerImpl` and
 * `ThreadLocalClusterManagerImpl`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AccessLogManagerImpl } from '../access-log/access-log-manager.ts';
import { AccessLogFileManager } from '../access-log/file-manager.ts';
import { CallbackLogSink } from '../common/log-sinks.ts';
import { configureLogging } from '../common/logger.ts';
import { DispatcherImpl, realBackend } from '../event/dispatcher.ts';
import { installReadVolumeGc } from '../event/read-volume-gc.ts';
import { workerConnPools } from '../http/conn-pool/cluster-pools.ts';
import { ConnectionHandler } from '../network/connection-handler.ts';
import type { ListenerData } from '../network/listener-config.ts';
import { ThreadLocalRuntime } from '../runtime/thread-local-runtime.ts';
import type { RuntimeSnapshotData } from '../runtime/types.ts';
import { dispatcherStats } from '../server/dispatcher-stats.ts';
import type { NetworkFilterContext } from '../server/filter-context.ts';
import { startHeartbeat, testCrash, testStall } from '../server/guard-dog.ts';
import { ThreadStats } from '../stats/thread-stats.ts';
import type { MainToWorker, WorkerInit, WorkerToMain } from '../thread-local/messages.ts';
import { WorkerSlots } from '../thread-local/thread-local.ts';
import { initHashing } from '../upstream/load-balancer/hash.ts';
import { ThreadLocalClusterManager } from '../upstream/thread-local-cluster-manager.ts';
import type { ClusterData } from '../upstream/types.ts';
import { compiledInAccessLoggers, compiledInNetworkFilters } from './extensions.ts';

if (parentPort === null) throw new Error('bug: worker-entry.ts runs only as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const name = `worker_${init.index}`;

installReadVolumeGc();

// Ring hash and maglev need xxHash64, whose WebAssembly loads once per thread.
await initHashing();

const send = (message: WorkerToMain): void => port.postMessage(message);
const dispatcher = new DispatcherImpl(name, realBackend());
const stats = new ThreadStats((update) => send({ type: 'stats', update }));
if (init.dispatcherStats) dispatcher.setStats(dispatcherStats(stats, name));
const logs = configureLogging(init.log, {
  threadName: name,
  now: () => dispatcher.systemTime(),
  sink: new CallbackLogSink(
    (line) => send({ type: 'log', line }),
    (flush) => dispatcher.post(flush),
  ),
});
const log = logs.getLogger('main');

const runtime = new ThreadLocalRuntime();
const clusterManager = new ThreadLocalClusterManager(dispatcher, stats, Math.random, runtime);
const accessLogFiles = new AccessLogFileManager({ schedule: (cb) => dispatcher.post(cb) });
const accessLogs = new AccessLogManagerImpl({
  runtimes: compiledInAccessLoggers,
  files: accessLogFiles,
  monotonicNow: () => dispatcher.approximateMonotonicTime(),
});
const filterContext: NetworkFilterContext = {
  dispatcher,
  scope: stats,
  workerIndex: init.index,
  clusterManager,
  accessLogs,
  draining: () => drainClose(),
  runtime,
};
const runtimes = new Map(compiledInNetworkFilters.map((r) => [r.name, r]));
const handler = new ConnectionHandler(
  dispatcher,
  stats,
  init.index,
  (filter) => {
    const filterRuntime = runtimes.get(filter.extension);
    if (filterRuntime === undefined)
      throw new Error(`bug: no data path for network filter ${filter.extension} (main refuses those)`);
    return filterRuntime.createFilterFactory(filter.config, filterContext);
  },
  { runtime, acceptedSockets: new Int32Array(init.acceptedSockets) },
);

const slots = new WorkerSlots();
slots.register('runtime', (data) => {
  runtime.update(data as RuntimeSnapshotData);
  clusterManager.onRuntimeUpdate();
});
slots.register('clusters', (data) => clusterManager.update(data as ClusterData[]));
slots.register('listeners', (data) => handler.setListeners(data as ListenerData[]));
const heartbeat = startHeartbeat(dispatcher, init.heartbeats, init.heartbeatIndex, init.touchIntervalMs);

// The drain decision (Envoy's `DrainManagerImpl::drainClose`): the listeners drain on
// exit, the server fails its health checks, or `/drain_listeners?graceful` started a drain
// sequence, in which a connection is asked to close with a chance rising to 1 over the
// drain time (`gradual`), or always (`immediate`).
let healthCheckFailed = false;
let drainSequence: { startMs: number; drainTimeMs: number; strategy: 'gradual' | 'immediate' } | undefined;

function drainClose(): boolean {
  if (handler.isDraining() || healthCheckFailed) return true;
  if (drainSequence === undefined) return false;
  if (drainSequence.strategy === 'immediate' || drainSequence.drainTimeMs === 0) return true;
  const elapsed = dispatcher.approximateMonotonicTime() - drainSequence.startMs;
  return elapsed >= drainSequence.drainTimeMs || elapsed > Math.random() * drainSequence.drainTimeMs;
}

function handle(message: MainToWorker): void {
  switch (message.type) {
    case 'tls.update':
      slots.apply(message.slot, message.data);
      send({ type: 'tls.applied', seq: message.seq });
      return;
    case 'listeners.start':
      handler.startListeners((failures) => {
        send({ type: 'listeners.started', failures });
        if (init.testStallMs > 0) testStall(dispatcher, init.testStallMs);
        if (init.testCrash) testCrash(dispatcher);
      });
      return;
    case 'drain.start':
      log.debug(`draining: ${handler.numConnections()} connections open`);
      handler.startDrain(() => send({ type: 'drained' }));
      return;
    case 'logs.reopen':
      accessLogFiles.reopenAll();
      return;
    case 'logs.levels':
      logs.applyLevels(message.levels);
      return;
    case 'healthcheck.failed':
      healthCheckFailed = message.failed;
      return;
    case 'drain.sequence':
      drainSequence ??= {
        startMs: dispatcher.approximateMonotonicTime(),
        drainTimeMs: message.drainTimeMs,
        strategy: message.strategy,
      };
      return;
    case 'listeners.stop':
      handler.stopListeners(new Set(message.names));
      return;
    case 'shutdown':
      handler.shutdown();
      workerConnPools(clusterManager, dispatcher).closeAll();
      clusterManager.shutdown();
      heartbeat.disableTimer();
      // Buffered access-log lines reach their files before the thread ends.
      void accessLogFiles.closeAll().then(() => {
        dispatcher.exit();
        stats.publishPending();
        send({ type: 'shutdown.done' });
        port.close();
      });
      return;
  }
}

port.on('message', (message: MainToWorker) => dispatcher.run(() => handle(message)));
send({ type: 'worker.ready' });
