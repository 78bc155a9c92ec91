/**
 * Contracts of the network layer: connections, network filters and their factories.
 *
 * Worker threads: a connection, its filters and their callbacks live and die on the
 * worker that accepted the socket. Envoy counterpart: `envoy/network/connection.h`,
 * `envoy/network/filter.h` (ReadFilter, WriteFilter, FilterManager, FilterFactoryCb).
 */
import type { Dispatcher } from '../event/types.ts';

/** What a filter returns: go on to the next filter, or stop until it continues the chain itself. */
export type FilterStatus = 'Continue' | 'StopIteration';

export type ConnectionEvent = 'RemoteClose' | 'LocalClose' | 'Connected';

/** `FlushWrite`: send what is buffered, then close. `NoFlush`: close at once (reset). */
export type ConnectionCloseType = 'FlushWrite' | 'NoFlush';

export type ConnectionState = 'Open' | 'Closing' | 'Closed';

export interface ConnectionCallbacks {
  onEvent?(event: ConnectionEvent): void;
  /** The write buffer went above the connection's limit: stop producing into it. */
  onAboveWriteBufferHighWatermark?(): void;
  /** The write buffer drained: produce again. */
  onBelowWriteBufferLowWatermark?(): void;
}

export interface Connection {
  readonly id: number;
  readonly dispatcher: Dispatcher;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  state(): ConnectionState;
  /** Writes through the write filters; `endStream` half-closes after the data. */
  write(data: Buffer, endStream: boolean): void;
  close(type: ConnectionCloseType): void;
  /** Reference-counted pause of reading (Envoy's readDisable). */
  readDisable(disable: boolean): void;
  readEnabled(): boolean;
  addConnectionCallbacks(cb: ConnectionCallbacks): void;
  /** Bytes waiting in the write buffer. */
  bufferedBytes(): number;
}

export interface ReadFilterCallbacks {
  connection(): Connection;
  /** Resumes the read chain after a filter returned StopIteration. */
  continueReading(): void;
}

export interface ReadFilter {
  initializeReadFilterCallbacks?(callbacks: ReadFilterCallbacks): void;
  onNewConnection?(): FilterStatus;
  onData(data: Buffer, endStream: boolean): FilterStatus;
}

export interface WriteFilter {
  onWrite(data: Buffer, endStream: boolean): FilterStatus;
}

/** The per-connection chain a filter factory adds its filters to. */
export interface FilterManager {
  addReadFilter(filter: ReadFilter): void;
  addWriteFilter(filter: WriteFilter): void;
  addFilter(filter: ReadFilter & WriteFilter): void;
}

/** Envoy's `Network::FilterFactoryCb`: adds one filter (instance) to a new connection's chain. */
export type FilterFactoryCb = (filterManager: FilterManager) => void;
