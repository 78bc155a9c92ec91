/**
 * A worker thread's entry point: its Dispatcher, stats, logger and connection handler.
 *
 * Worker thread `worker_<n>`. Everything it learns from main arrives as data on its
 * MessagePort (`MainToWorker`), handled in order inside the Dispatcher; everything it tells
 * main (stats segments, log lines, acknowledgements) goes back the same way. Envoy
 * counterpart: `WorkerImpl::threadRoutine` and the worker's `ConnectionHandlerImpl`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CallbackLogSink } from '../common/log-sinks.ts';
import { configureLogging } from '../common/logger.ts';
import { DispatcherImpl, realBackend } from '../event/dispatcher.ts';
import { ConnectionHandler } from '../network/connection-handler.ts';
import type { ListenerData } from '../network/listener-config.ts';
import { startHeartbeat, testCrash, testStall } from '../server/guard-dog.ts';
import { ThreadStats } from '../stats/thread-stats.ts';
import type { MainToWorker, WorkerInit, WorkerToMain } from '../thread-local/messages.ts';
import { WorkerSlots } from '../thread-local/thread-local.ts';
import { compiledInNetworkFilters } from './extensions.ts';

if (parentPort === null) throw new Error('bug: worker-entry.ts runs only as a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
const name = `worker_${init.index}`;

const send = (message: WorkerToMain): void => port.postMessage(message);
const dispatcher = new DispatcherImpl(name, realBackend());
const stats = new ThreadStats((update) => send({ type: 'stats', update }));
dispatcher.setStats({
  recordLoopDurationUs: recordInto(
    stats.histogram(`server.${name}.dispatcher.loop_duration_us`, 'Microseconds'),
  ),
  recordPollDelayUs: recordInto(stats.histogram(`server.${name}.dispatcher.poll_delay_us`, 'Microseconds')),
});
const logs = configureLogging(init.log, {
  threadName: name,
  now: () => dispatcher.systemTime(),
  sink: new CallbackLogSink(
    (line) => send({ type: 'log', line }),
    (flush) => dispatcher.post(flush),
  ),
});
const log = logs.getLogger('main');
const handler = new ConnectionHandler(dispatcher, stats, init.index, compiledInNetworkFilters);
const slots = new WorkerSlots();
slots.register('listeners', (data) => handler.setListeners(data as ListenerData[]));
const heartbeat = startHeartbeat(dispatcher, init.heartbeats, init.heartbeatIndex, init.touchIntervalMs);

function recordInto(h: { recordValue(v: number): void }): (v: number) => void {
  return (v) => h.recordValue(v);
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
    case 'shutdown':
      handler.shutdown();
      heartbeat.disableTimer();
      dispatcher.exit();
      send({ type: 'shutdown.done' });
      port.close();
      return;
  }
}

port.on('message', (message: MainToWorker) => dispatcher.run(() => handle(message)));
send({ type: 'worker.ready' });
