/**
 * A server connection: a `net.Socket` with read and write filter chains, write-buffer
 * watermarks and close semantics.
 *
 * Worker thread that accepted it, for its whole life. Owns the socket and the filter
 * instances. Reads go through the read filters in order; writes through the write filters
 * in reverse order (none yet), then to the socket. When the socket's write buffer passes
 * `per_connection_buffer_limit_bytes` the callbacks hear "above high watermark" (a filter
 * then stops reading the other side) and "below low watermark" once it drains, so memory per
 * connection stays bounded. Half-close is kept: the peer's FIN reaches the filters as
 * `endStream`. Writes are batched as Envoy's are (it activates a write event rather than
 * writing in place): what a connection is given during a pass of the event loop waits in the
 * connection (Envoy's write buffer) until every ready socket has been read, then the batch
 * writes them all back to back, one write or writev each, so a peer woken by the first write
 * is mostly still awake for the next; a connection whose pending and queued bytes reach the
 * high watermark writes at once. Envoy counterpart: `Network::ConnectionImpl`, `FilterManagerImpl`.
 */
import { Buffer } from 'node:buffer';
import type net from 'node:net';
import { clearArray } from '../common/array.ts';
import { MutableFields } from '../common/mutable-fields.ts';
import { noteBytesRead } from '../event/read-volume-gc.ts';
import type { Dispatcher, SchedulableCallback } from '../event/types.ts';
import type { SocketReader } from './socket-reader.ts';
import type {
  Connection,
  ConnectionCallbacks,
  ConnectionCloseType,
  ConnectionEvent,
  ConnectionState,
  FilterManager,
  ReadFilter,
  ReadFilterCallbacks,
  WriteFilter,
} from './types.ts';

const EMPTY = Buffer.alloc(0);

/**
 * The connections of one dispatcher that wrote during this pass of the event loop. Their
 * bytes wait until every ready socket has been read, then all are written together.
 */
class WriteBatch {
  private readonly pending: ConnectionImpl[] = [];
  private readonly flushCallback: SchedulableCallback;

  constructor(dispatcher: Dispatcher) {
    this.flushCallback = dispatcher.createSchedulableCallback(this.flush);
  }

  add(connection: ConnectionImpl): void {
    if (this.pending.length === 0) this.flushCallback.scheduleCallbackNextIteration();
    this.pending.push(connection);
  }

  private readonly flush = (): void => {
    const pending = this.pending;
    // A flush can make another connection write: it joins the end of this same pass.
    for (let i = 0; i < pending.length; i++) pending[i]!.flushBatch();
    clearArray(pending);
  };
}

const writeBatches = new WeakMap<Dispatcher, WriteBatch>();

function writeBatchOf(dispatcher: Dispatcher): WriteBatch {
  let batch = writeBatches.get(dispatcher);
  if (batch === undefined) {
    batch = new WriteBatch(dispatcher);
    writeBatches.set(dispatcher, batch);
  }
  return batch;
}

/** Fields only a close or an error changes (see `src/common/mutable-fields.ts`). */
const CLOSE_FIELDS = new MutableFields({
  failureReason: 'ECONNRESET',
  localClose: true,
  pendingEndStream: true,
});

export class ConnectionImpl implements Connection, FilterManager, ReadFilterCallbacks {
  readonly id: number;
  readonly dispatcher: Dispatcher;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  private readonly socket: net.Socket;
  private readonly readFilters: ReadFilter[] = [];
  private readonly writeFilters: WriteFilter[] = [];
  private readonly callbacks: ConnectionCallbacks[] = [];
  private stateValue: ConnectionState = 'Open';
  private readDisableCount = 0;
  private aboveHighWatermark = false;
  private localClose = false;
  /** Index of the read filter to resume from after a StopIteration. */
  private stoppedAt = -1;
  private pendingEndStream = false;
  private failureReason = '';
  /** Waiting in the dispatcher's write batch with the bytes below. */
  private inBatch = false;
  /** Bytes written during this pass, not yet given to the socket: one chunk, or more. */
  private pendingOut: Buffer | null = null;
  private pendingMore: Buffer[] | null = null;
  private pendingBytes = 0;
  private readonly writeBatch: WriteBatch;
  private readonly reader: SocketReader | undefined;
  /** The chunk being handed to the read filters, during `onSocketData` only. */
  private readChunk: Buffer = EMPTY;

  /**
   * @param reader the `onread` reader the socket was built with (`SocketReader`); without one the
   *   socket's `'data'` events feed the read filters.
   */
  constructor(id: number, socket: net.Socket, dispatcher: Dispatcher, reader?: SocketReader) {
    this.id = id;
    this.socket = socket;
    this.dispatcher = dispatcher;
    this.writeBatch = writeBatchOf(dispatcher);
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    this.localAddress = socket.localAddress ?? '';
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    this.reader = reader;
    if (reader !== undefined) reader.setSink(this.onSocketData);
    else socket.on('data', this.onSocketData);
    socket.on('end', this.onSocketEnd);
    socket.on('drain', this.onSocketDrain);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    // A client connection (upstream) reports `Connected` once the handshake is done.
    if (socket.connecting) socket.once('connect', this.onSocketConnect);
    CLOSE_FIELDS.mark(this);
  }

  /** True while a client connection is still connecting. */
  connecting(): boolean {
    return this.socket.connecting;
  }

  // FilterManager
  addReadFilter(filter: ReadFilter): void {
    filter.initializeReadFilterCallbacks?.(this);
    this.readFilters.push(filter);
  }

  addWriteFilter(filter: WriteFilter): void {
    this.writeFilters.unshift(filter);
  }

  addFilter(filter: ReadFilter & WriteFilter): void {
    this.addReadFilter(filter);
    this.addWriteFilter(filter);
  }

  /** Runs `onNewConnection` on the read filters; false when the chain is empty. */
  initializeReadFilters(): boolean {
    if (this.readFilters.length === 0) return false;
    for (const f of this.readFilters) {
      if (f.onNewConnection?.() === 'StopIteration') break;
    }
    return true;
  }

  // ReadFilterCallbacks
  connection(): Connection {
    return this;
  }

  continueReading(): void {
    const from = this.stoppedAt;
    this.stoppedAt = -1;
    if (from >= 0) this.passToReadFilters(EMPTY, this.pendingEndStream, from + 1);
  }

  // Connection
  state(): ConnectionState {
    return this.stateValue;
  }

  write(data: Buffer, endStream: boolean): void {
    if (this.stateValue !== 'Open') return;
    for (const f of this.writeFilters) {
      if (f.onWrite(data, endStream) === 'StopIteration') return;
    }
    if (data.length > 0) {
      if (this.pendingOut === null) {
        this.pendingOut = data;
        if (!this.inBatch) {
          this.inBatch = true;
          this.writeBatch.add(this);
        }
      } else if (this.pendingMore === null) {
        this.pendingMore = [data];
      } else {
        this.pendingMore.push(data);
      }
      this.pendingBytes += data.length;
      // Past the limit the bytes go to the kernel now, and the watermark is checked at once.
      const socket = this.socket;
      if (this.pendingBytes + socket.writableLength >= socket.writableHighWaterMark) this.writePending();
    }
    if (endStream) {
      this.writePending();
      this.socket.end();
    }
  }

  /** The write batch's turn: what this pass wrote goes to the socket. */
  flushBatch(): void {
    this.inBatch = false;
    this.writePending();
  }

  /**
   * Gives the socket the bytes written since the last flush (and checks the high watermark):
   * one write, or one writev when there are several chunks.
   */
  private writePending(): void {
    const first = this.pendingOut;
    if (first === null) return;
    const more = this.pendingMore;
    this.pendingOut = null;
    this.pendingMore = null;
    this.pendingBytes = 0;
    const socket = this.socket;
    if (socket.destroyed) return;
    if (more === null) {
      socket.write(first);
    } else {
      socket.cork();
      socket.write(first);
      for (let i = 0; i < more.length; i++) socket.write(more[i]!);
      socket.uncork();
    }
    this.checkHighWatermark();
  }

  /**
   * Above the high watermark when the bytes still queued in the socket reach its limit. (Not
   * `writableNeedDrain`: Node sets that whenever one write() is as big as the limit, even when
   * the kernel took it all at once, and while corked; either would pause the other side for
   * nothing.) The 'drain' event brings it back below.
   */
  private checkHighWatermark(): void {
    const socket = this.socket;
    if (!this.aboveHighWatermark && socket.writableLength >= socket.writableHighWaterMark) {
      this.aboveHighWatermark = true;
      for (const cb of this.callbacks) cb.onAboveWriteBufferHighWatermark?.();
    }
  }

  close(type: ConnectionCloseType): void {
    if (this.stateValue !== 'Open') return;
    this.localClose = true;
    if (type === 'FlushWrite') {
      this.writePending();
      if (this.socket.writableLength > 0) {
        this.stateValue = 'Closing';
        this.socket.end();
        this.socket.once('finish', () => this.socket.destroy());
        return;
      }
    }
    this.socket.destroy();
  }

  readDisable(disable: boolean): void {
    if (disable) {
      if (this.readDisableCount++ === 0) this.socket.pause();
    } else if (this.readDisableCount > 0 && --this.readDisableCount === 0) {
      this.socket.resume();
    }
  }

  readEnabled(): boolean {
    return this.readDisableCount === 0;
  }

  addConnectionCallbacks(cb: ConnectionCallbacks): void {
    this.callbacks.push(cb);
  }

  bufferedBytes(): number {
    return this.socket.writableLength + this.pendingBytes;
  }

  /** Why the socket failed (an errno code such as ECONNREFUSED), or ''. */
  transportFailureReason(): string {
    return this.failureReason;
  }

  private passToReadFilters(data: Buffer, endStream: boolean, from: number): void {
    for (let i = from; i < this.readFilters.length; i++) {
      const f = this.readFilters[i];
      if (f === undefined) continue;
      if (f.onData(data, endStream) === 'StopIteration') {
        this.stoppedAt = i;
        this.pendingEndStream = endStream;
        return;
      }
    }
  }

  private raiseEvent(event: ConnectionEvent): void {
    for (const cb of this.callbacks) cb.onEvent?.(event);
  }

  // Socket events, bound once per connection (no closure per chunk).
  private readonly onSocketData = (chunk: Buffer): void => {
    noteBytesRead(chunk.length);
    this.readChunk = chunk;
    // One dispatcher batch per read, as Envoy's file event is: what the filters queue during it
    // (deferred deletes, current-iteration callbacks) runs before the callback returns, with no
    // microtask to schedule.
    this.dispatcher.run(this.deliverRead);
  };

  private readonly deliverRead = (): void => {
    const chunk = this.readChunk;
    this.readChunk = EMPTY;
    this.passToReadFilters(chunk, false, 0);
  };

  private readonly onSocketEnd = (): void => {
    this.passToReadFilters(EMPTY, true, 0);
  };

  private readonly onSocketDrain = (): void => {
    if (!this.aboveHighWatermark) return;
    this.aboveHighWatermark = false;
    for (const cb of this.callbacks) cb.onBelowWriteBufferLowWatermark?.();
  };

  private readonly onSocketError = (err: NodeJS.ErrnoException): void => {
    // ECONNRESET, ECONNREFUSED...: 'close' follows and reports it; keep the reason for logs.
    this.failureReason = err.code ?? err.message;
  };

  private readonly onSocketConnect = (): void => {
    this.remoteAddress = this.socket.remoteAddress ?? '';
    this.remotePort = this.socket.remotePort ?? 0;
    this.localAddress = this.socket.localAddress ?? '';
    this.localPort = this.socket.localPort ?? 0;
    this.dispatcher.run(() => this.raiseEvent('Connected'));
  };

  private readonly onSocketClose = (): void => {
    this.reader?.release();
    if (this.stateValue === 'Closed') return;
    this.stateValue = 'Closed';
    this.raiseEvent(this.localClose ? 'LocalClose' : 'RemoteClose');
  };
}
