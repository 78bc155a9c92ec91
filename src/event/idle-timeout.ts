/**
 * `IdleTimeout`: a timeout pushed back by every bit of activity, for the idle timeouts the
 * HTTP layers restart on each request, frame or connection hand-off.
 *
 * Runs on its dispatcher's thread. `restart(ms)` records the new deadline and touches the
 * timer only when it is not armed or must fire earlier than it is armed for; when the timer
 * fires before the recorded deadline it is armed again for what is left. A busy stream or
 * connection thus costs one time store per restart instead of a timer-heap update, and the
 * timeout still fires `ms` after the last restart. The same pattern as tcp_proxy's idle timer
 * (Envoy re-arms a libevent timer per event instead).
 */
import type { Dispatcher, Timer } from './types.ts';

export class IdleTimeout {
  private readonly dispatcher: Dispatcher;
  private readonly timer: Timer;
  private readonly onTimeout: () => void;
  /** Monotonic ms at which the timeout is due (as of the last restart). */
  private deadline = 0;
  /** Monotonic ms the timer is armed for (it may be earlier than `deadline`). */
  private armedFor = 0;

  /** `onTimeout` runs once the deadline has passed; it is not re-armed by itself. */
  constructor(dispatcher: Dispatcher, onTimeout: () => void) {
    this.dispatcher = dispatcher;
    this.onTimeout = onTimeout;
    this.timer = dispatcher.createTimer(this.onTimer);
  }

  /** The timeout is due `ms` (> 0) from now, replacing any earlier deadline. */
  restart(ms: number): void {
    const deadline = this.dispatcher.approximateMonotonicTime() + ms;
    this.deadline = deadline;
    if (!this.timer.enabled() || deadline < this.armedFor) {
      this.timer.enableTimer(ms);
      this.armedFor = deadline;
    }
  }

  cancel(): void {
    this.timer.disableTimer();
  }

  enabled(): boolean {
    return this.timer.enabled();
  }

  private readonly onTimer = (): void => {
    const left = this.deadline - this.dispatcher.approximateMonotonicTime();
    if (left > 0) {
      this.timer.enableTimer(left);
      this.armedFor = this.deadline;
      return;
    }
    this.onTimeout();
  };
}
