/**
 * The guard dog thread's entry point: its own Dispatcher and stats, watching every other
 * thread's heartbeat (see src/server/guard-dog.ts).
 *
 * Guard dog thread. Its stats (server.watchdog_miss ...) go to main as `stats` messages,
 * like a worker's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DispatcherImpl, realBackend } from '../event/dispatcher.ts';
import { abortProcess, type GuardDogInit, runGuardDog } from '../server/guard-dog.ts';
import { ThreadStats } from '../stats/thread-stats.ts';
import type { WorkerToMain } from '../thread-local/messages.ts';

if (parentPort === null) throw new Error('bug: guard-dog-entry.ts runs only as a worker thread');
const port = parentPort;
const init = workerData as GuardDogInit;
const dispatcher = new DispatcherImpl('guard_dog', realBackend());
const stats = new ThreadStats((update) => port.postMessage({ type: 'stats', update } satisfies WorkerToMain));
runGuardDog(dispatcher, init.cells, init.threads, stats, abortProcess);
port.on('message', (message: { type: string }) => {
  if (message.type === 'shutdown') {
    dispatcher.exit();
    port.close();
  }
});
