/**
 * Dispatcher hot paths on the real backend: re-arming a timer (what every connection's idle
 * timeout does per request), alone and among 10,000 armed timers (a busy worker), and
 * post() including the drain that runs it at the end of the batch.
 *
 * Run alone: `node bench/micro/dispatcher-timers.ts`.
 */
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';

const d = new DispatcherImpl('worker_0', realBackend());
const noop = (): void => {};

function nsPerOp(label: string, ops: number, body: () => void): void {
  body(); // warm-up
  const t0 = process.hrtime.bigint();
  body();
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  console.log(`dispatcher: ${label.padEnd(34)} ${ns.toFixed(1)} ns/op`);
}

const N = 2_000_000;

// One timer, re-armed with a later deadline each time (an idle timeout pushed forward).
const lone = d.createTimer(noop);
nsPerOp('timer re-arm', N, () => {
  d.run(() => {
    for (let i = 0; i < N; i++) lone.enableTimer(60_000 + (i & 1023));
  });
});

// The same among 10,000 armed timers with spread deadlines: the heap is deep.
const rest = [];
for (let i = 0; i < 10_000; i++) {
  const t = d.createTimer(noop);
  t.enableTimer(30_000 + i * 7);
  rest.push(t);
}
const busy = d.createTimer(noop);
nsPerOp('timer re-arm (10k armed)', N, () => {
  d.run(() => {
    for (let i = 0; i < N; i++) busy.enableTimer(30_000 + ((i * 7919) % 70_000));
  });
});
nsPerOp('timer disable + enable (10k armed)', N, () => {
  d.run(() => {
    for (let i = 0; i < N; i++) {
      busy.disableTimer();
      busy.enableTimer(30_000 + ((i * 7919) % 70_000));
    }
  });
});

// post(): queued during a batch and drained when it returns.
const P = 100_000;
nsPerOp('post', P * 20, () => {
  for (let r = 0; r < 20; r++) {
    d.run(() => {
      for (let i = 0; i < P; i++) d.post(noop);
    });
  }
});

d.exit();
