/**
 * The real scheduler backend: drives one Dispatcher from Node's event loop.
 *
 * Runs on the dispatcher's thread. It holds at most one Node timeout (for the earliest timer
 * deadline), one immediate (next-iteration callbacks, and timers already due) and one
 * queued microtask (work queued outside any batch). The timeout is replaced only when the
 * earliest deadline moves earlier than it; when the earliest timer moves later the timeout
 * stays and the early wake-up simply asks again, so re-arming an idle timeout per request
 * costs no Node call. Armed timers keep the process alive, as libevent's do; with no timer
 * armed and nothing queued, the dispatcher holds no handle. This file and `time-source.ts`
 * are the only users of `setTimeout` / `setImmediate` / `queueMicrotask`.
 * Envoy counterpart: source/common/event/libevent_scheduler.cc.
 */
import type { SchedulerBackend, SchedulerHost } from './dispatcher.ts';
import { realTimeSource } from './time-source.ts';
import type { TimeSource } from './types.ts';

/** Node clamps longer timeouts to 1 ms; longer waits wake early and ask again. */
const MAX_NODE_TIMEOUT_MS = 2 ** 31 - 1;

class NodeLoopBackend implements SchedulerBackend {
  readonly timeSource: TimeSource;
  private host: SchedulerHost | null;
  private timeout: NodeJS.Timeout | null;
  /** Monotonic time at which `timeout` fires. */
  private timeoutAt: number;
  private immediate: NodeJS.Immediate | null;
  /** What the pending immediate must run. */
  private wantTimerPass: boolean;
  private wantNextIteration: boolean;
  private closed: boolean;
  private readonly onTimeout: () => void;
  private readonly onImmediate: () => void;
  private readonly onMicrotask: () => void;

  constructor() {
    this.timeSource = realTimeSource;
    this.host = null;
    this.timeout = null;
    this.timeoutAt = Number.POSITIVE_INFINITY;
    this.immediate = null;
    this.wantTimerPass = false;
    this.wantNextIteration = false;
    this.closed = false;
    this.onTimeout = () => {
      this.timeout = null;
      this.timeoutAt = Number.POSITIVE_INFINITY;
      this.host!.runTimerPass();
    };
    this.onImmediate = () => this.runImmediate();
    this.onMicrotask = () => {
      if (!this.closed) this.host!.drain();
    };
  }

  attach(host: SchedulerHost): void {
    if (this.host !== null) throw new Error('bug: a scheduler backend serves one dispatcher');
    this.host = host;
  }

  setWake(deadline: number): void {
    if (this.closed) return;
    if (deadline === Number.POSITIVE_INFINITY) {
      this.clearTimeout();
      this.wantTimerPass = false;
      this.dropIdleImmediate();
      return;
    }
    const now = this.timeSource.monotonicNow();
    const delay = deadline - now;
    if (delay <= 0) {
      this.wantTimerPass = true;
      this.ensureImmediate();
      return;
    }
    if (this.timeout !== null && this.timeoutAt <= deadline) return;
    this.clearTimeout();
    // Whole milliseconds, rounded up: Node's timers are ms-grained and must not fire early.
    const ms = Math.min(Math.ceil(delay), MAX_NODE_TIMEOUT_MS);
    this.timeout = setTimeout(this.onTimeout, ms);
    this.timeoutAt = now + ms;
  }

  requestNextIteration(): void {
    if (this.closed) return;
    this.wantNextIteration = true;
    this.ensureImmediate();
  }

  requestDrain(): void {
    if (this.closed) return;
    queueMicrotask(this.onMicrotask);
  }

  close(): void {
    this.closed = true;
    this.clearTimeout();
    this.wantTimerPass = false;
    this.wantNextIteration = false;
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
  }

  private runImmediate(): void {
    this.immediate = null;
    const timers = this.wantTimerPass;
    const next = this.wantNextIteration;
    this.wantTimerPass = false;
    this.wantNextIteration = false;
    const host = this.host!;
    if (timers) {
      try {
        host.runTimerPass();
      } catch (e) {
        // The timer's exception propagates; the next-iteration callbacks still run later.
        if (next) this.requestNextIteration();
        throw e;
      }
    }
    if (next) host.runNextIteration();
  }

  private ensureImmediate(): void {
    if (this.immediate === null) this.immediate = setImmediate(this.onImmediate);
  }

  /** The immediate was only for a timer pass that is no longer wanted. */
  private dropIdleImmediate(): void {
    if (this.immediate !== null && !this.wantNextIteration) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
  }

  private clearTimeout(): void {
    if (this.timeout !== null) {
      clearTimeout(this.timeout);
      this.timeout = null;
      this.timeoutAt = Number.POSITIVE_INFINITY;
    }
  }
}

/** A backend on Node's event loop with real time. One per dispatcher. */
export function realBackend(): SchedulerBackend {
  return new NodeLoopBackend();
}
