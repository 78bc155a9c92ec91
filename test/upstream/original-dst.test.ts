/**
 * ORIGINAL_DST on a worker: a host is made from where the downstream connection was going,
 * reused for the same destination, and forgotten once unused for a whole cleanup_interval.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DispatcherImpl, simulatedBackend } from '../../src/event/dispatcher.ts';
import { SimulatedTimeSource } from '../../src/event/time-source.ts';
import { ThreadStats } from '../../src/stats/thread-stats.ts';
import { clusterData } from '../../src/upstream/cluster-data.ts';
import { ThreadLocalClusterManager } from '../../src/upstream/thread-local-cluster-manager.ts';

function originalDstCluster() {
  const settings = clusterData({
    name: 'od',
    type: 'ORIGINAL_DST',
    lb_policy: 'CLUSTER_PROVIDED',
    cleanup_interval: { seconds: 5, nanos: 0 },
  });
  return { ...settings, hosts: [] };
}

test('an ORIGINAL_DST cluster makes one host per destination and forgets it after an unused cleanup interval', () => {
  const sim = new SimulatedTimeSource();
  const dispatcher = new DispatcherImpl('worker_0', simulatedBackend(sim));
  const cm = new ThreadLocalClusterManager(dispatcher, new ThreadStats(() => {}, { immediate: true }));
  cm.update([originalDstCluster()]);
  const cluster = cm.get('od');
  assert.ok(cluster !== undefined);

  const to = (address: string, port: number) => ({ originalDestination: () => ({ address, port }) });
  const a = cluster.chooseHost(to('10.1.2.3', 8080));
  assert.equal(a?.key, '10.1.2.3:8080');
  assert.equal(cluster.chooseHost(to('10.1.2.3', 8080)), a, 'the same destination reuses its host');
  const v6 = cluster.chooseHost(to('2001:db8::1', 443));
  assert.equal(v6?.key, '[2001:db8::1]:443');
  assert.equal(cluster.chooseHost(undefined), undefined, 'no destination, no host');

  // Used during the first interval: kept by the first sweep, dropped by the second.
  sim.advanceTimeAndRun(5000);
  assert.deepEqual(cluster.dynamicHostKeys().sort(), ['10.1.2.3:8080', '[2001:db8::1]:443']);
  if (a !== undefined) a.activeConnections = 1; // a host with a connection open is never dropped
  sim.advanceTimeAndRun(5000);
  assert.deepEqual(cluster.dynamicHostKeys(), ['10.1.2.3:8080']);
  if (a !== undefined) a.activeConnections = 0;
  sim.advanceTimeAndRun(10_000);
  assert.deepEqual(cluster.dynamicHostKeys(), []);
  cm.shutdown();
  dispatcher.exit();
});
