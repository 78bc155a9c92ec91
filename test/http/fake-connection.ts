/**
 * A network Connection for codec tests without sockets: records what is written, how it was
 * closed and read-disable calls; connection events are raised by the test.
 *
 * Test thread only. Owns a real Dispatcher (real backend) so a test can run codec calls inside
 * `dispatcher.run()` and have the codec's scheduled callbacks (held-output flush, pipelined
 * resume) run before the batch returns. Envoy counterpart: `Network::MockConnection`.
 */
import { DispatcherImpl, realBackend } from '../../src/event/dispatcher.ts';
import type { Dispatcher } from '../../src/event/types.ts';
import type {
  Connection,
  ConnectionCallbacks,
  ConnectionCloseType,
  ConnectionEvent,
  ConnectionState,
} from '../../src/network/types.ts';

export class FakeConnection implements Connection {
  readonly id = 1;
  readonly dispatcher: Dispatcher;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 40000;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 10000;
  readonly writes: Buffer[] = [];
  closeType: ConnectionCloseType | null = null;
  halfClosed = false;
  readDisableCount = 0;
  private readonly callbacks: ConnectionCallbacks[] = [];

  constructor(dispatcher?: Dispatcher) {
    this.dispatcher = dispatcher ?? new DispatcherImpl('worker_0', realBackend());
  }

  state(): ConnectionState {
    return this.closeType === null ? 'Open' : 'Closed';
  }

  write(data: Buffer, endStream: boolean): void {
    if (this.closeType !== null) return;
    if (data.length > 0) this.writes.push(Buffer.from(data));
    if (endStream) this.halfClosed = true;
  }

  close(type: ConnectionCloseType): void {
    if (this.closeType === null) this.closeType = type;
  }

  readDisable(disable: boolean): void {
    this.readDisableCount += disable ? 1 : -1;
  }

  readEnabled(): boolean {
    return this.readDisableCount === 0;
  }

  addConnectionCallbacks(cb: ConnectionCallbacks): void {
    this.callbacks.push(cb);
  }

  bufferedBytes(): number {
    return 0;
  }

  raiseEvent(event: ConnectionEvent): void {
    for (const cb of this.callbacks) cb.onEvent?.(event);
  }

  raiseHighWatermark(): void {
    for (const cb of this.callbacks) cb.onAboveWriteBufferHighWatermark?.();
  }

  raiseLowWatermark(): void {
    for (const cb of this.callbacks) cb.onBelowWriteBufferLowWatermark?.();
  }

  /** Everything written, as Latin-1 text. */
  text(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }

  /** Number of write calls (to check coalescing). */
  writeCount(): number {
    return this.writes.length;
  }

  clear(): void {
    this.writes.length = 0;
  }
}
