/**
 * The HTTP filter chain of one stream: request frames through the decoder filters in config
 * order, response frames through the encoder filters in reverse order, with Envoy's iteration
 * semantics (Continue, StopIteration, StopAllIterationAndBuffer, StopIterationAndBuffer,
 * StopIterationNoBuffer; `continueDecoding()` / `continueEncoding()` resume with the next
 * filter), bounded body buffering (over the limit: 413 for a request, 500 for a response), and
 * local replies (through the encoder filters when no response has started, straight to the
 * codec when one has started but nothing went downstream yet, a reset otherwise).
 *
 * Worker thread; one per stream, owned by the connection manager's `ActiveStream`, which it
 * reaches through `FilterManagerCallbacks`. The filter wrappers are the callbacks objects the
 * filters get; they are per-stream objects, and no closure is made per frame.
 *
 * Differences from Envoy: bodies are Node Buffers, so the buffered body is handed on as one
 * Buffer and emptied when iteration moves it on (a filter cannot drain part of it); there is no
 * metadata, no `addDecodedTrailers`, no StopAllIterationAndWatermark. Envoy counterpart:
 * `FilterManager`, `DownstreamFilterManager`, `ActiveStreamDecoderFilter`,
 * `ActiveStreamEncoderFilter` (source/common/http/filter_manager.cc).
 */

import { Buffer } from 'node:buffer';
import type { AccessLogInstance } from '../../access-log/types.ts';
import { removeIndex } from '../../common/array.ts';
import type { Dispatcher } from '../../event/types.ts';
import type { StreamInfo } from '../../stream-info/stream-info.ts';
import type {
  DownstreamWatermarkCallbacks,
  FilterChainFactoryCallbacks,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  LocalReply,
  StreamDecoderFilter,
  StreamDecoderFilterCallbacks,
  StreamEncoderFilter,
  StreamEncoderFilterCallbacks,
  StreamRoute,
} from '../filter-types.ts';
import { HeaderMapImpl } from '../header-map.ts';
import { statusText } from '../http1/status-text.ts';
import type { HeaderMap, StreamResetReason } from '../types.ts';

const EMPTY = Buffer.alloc(0);

// Iteration state of one filter.
const ITERATE = 0;
/** Stopped on this frame: later frames still reach this filter. */
const STOP_SINGLE = 1;
/** Stopped on every frame: later frames are buffered until the filter continues. */
const STOP_ALL = 2;

// What the filter manager is in the middle of (Envoy's FilterCallState).
const DECODE_HEADERS = 1;
const DECODE_DATA = 2;
const DECODE_TRAILERS = 4;
const ENCODE_HEADERS = 8;
const ENCODE_DATA = 16;
const ENCODE_TRAILERS = 32;
const DECODING = DECODE_HEADERS | DECODE_DATA | DECODE_TRAILERS;
const ENCODING = ENCODE_HEADERS | ENCODE_DATA | ENCODE_TRAILERS;

/** Where a data or trailers iteration starts when a filter continues. */
const START_FROM_NEXT = false;
const CAN_START_FROM_CURRENT = true;

/** What the filter manager asks of its stream (the connection manager's ActiveStream). */
export interface FilterManagerCallbacks {
  readonly dispatcher: Dispatcher;
  readonly streamInfo: StreamInfo;
  readonly streamId: number;
  readonly downstreamLocalAddress: string;
  readonly downstreamLocalPort: number;
  readonly internalRequest: boolean;
  /** Response headers that went through every encoder filter: to the codec. */
  encodeHeaders(headers: HeaderMap, endStream: boolean): void;
  encode1xxHeaders(headers: HeaderMap): void;
  encodeData(data: Buffer, endStream: boolean): void;
  encodeTrailers(trailers: HeaderMap): void;
  /** The response is complete (everything handed to the codec). */
  endStream(): void;
  /** A filter (or a local reply after the response started) resets the stream. */
  resetStream(reason: StreamResetReason, details: string): void;
  /** A local reply is being sent with this status (a 400 closes an HTTP/1 connection). */
  onLocalReply(status: number): void;
  onRequestDataTooLarge(): void;
  onResponseDataTooLarge(): void;
  route(): StreamRoute | undefined;
  clearRouteCache(): void;
  resetIdleTimer(): void;
  disarmRequestTimeout(): void;
  /** Reading from the downstream stops / resumes (flow control). */
  onDecoderFilterAboveWriteBufferHighWatermark(): void;
  onDecoderFilterBelowWriteBufferLowWatermark(): void;
  /** Builds the upgrade chain for `upgradeType`; false when the upgrade is not allowed. */
  createUpgradeFilterChain(upgradeType: string, callbacks: FilterChainFactoryCallbacks): boolean;
  createDefaultFilterChain(callbacks: FilterChainFactoryCallbacks): void;
  upgradeFilterChainCreated(): void;
}

/** A body held between filters: chunks plus their total length, consolidated on demand. */
class BodyBuffer {
  chunks: Buffer[] = [];
  length = 0;
  /** Above the buffer limit (reported once until the buffer drains). */
  aboveLimit = false;

  add(data: Buffer): void {
    if (data.length === 0) return;
    this.chunks.push(data);
    this.length += data.length;
  }

  /** The whole body as one Buffer (kept as the only chunk). */
  view(): Buffer {
    const chunks = this.chunks;
    if (chunks.length === 0) return EMPTY;
    if (chunks.length === 1) return chunks[0]!;
    const all = Buffer.concat(chunks, this.length);
    this.chunks = [all];
    return all;
  }
}

abstract class ActiveFilterBase {
  readonly parent: FilterManager;
  index = 0;
  iterationState = ITERATE;
  /** Continue the next data/trailers iteration at this filter (it stopped everything). */
  iterateFromCurrentFilter = false;
  headersContinued = false;
  headersCalled = false;
  /** The filter has seen the end of the stream in this direction. */
  endStream = false;

  constructor(parent: FilterManager) {
    this.parent = parent;
  }

  stoppedAll(): boolean {
    return this.iterationState === STOP_ALL;
  }

  /** After a headers callback: true to go on to the next filter. */
  handleAfterHeaders(status: FilterHeadersStatus): boolean {
    if (status === 'StopIteration') {
      this.iterationState = STOP_SINGLE;
      return false;
    }
    if (status === 'StopAllIterationAndBuffer') {
      this.iterationState = STOP_ALL;
      return false;
    }
    this.headersContinued = true;
    return true;
  }

  /** After a data callback: true to go on to the next filter. */
  handleAfterData(status: FilterDataStatus, data: Buffer): boolean {
    if (status === 'Continue') {
      if (this.iterationState === STOP_SINGLE) {
        this.bufferData(data, false);
        this.commonContinue();
        return false;
      }
      return true;
    }
    this.iterationState = STOP_SINGLE;
    if (status === 'StopIterationAndBuffer') {
      this.bufferData(data, false);
    } else if (this.complete() && !this.hasTrailers() && this.buffer() === null && !this.parent.destroyed) {
      // StopIterationNoBuffer on the last (possibly empty) frame: keep an empty body so that
      // continuing delivers the end of the stream.
      this.createBuffer();
    }
    return false;
  }

  /** After a trailers callback: true to go on to the next filter. */
  handleAfterTrailers(status: FilterTrailersStatus): boolean {
    if (status === 'StopIteration') {
      this.iterationState = STOP_SINGLE;
      return false;
    }
    if (this.iterationState === STOP_SINGLE) {
      this.commonContinue();
      return false;
    }
    return true;
  }

  /** Resumes iteration after a stop: headers (once), then the buffered body, then trailers. */
  commonContinue(): void {
    if (!this.canContinue()) return;
    if (this.stoppedAll()) this.iterateFromCurrentFilter = true;
    this.iterationState = ITERATE;
    if (!this.headersContinued) {
      this.headersContinued = true;
      this.doHeaders(this.complete() && this.buffer() === null && !this.hasTrailers());
      if (!this.canContinue()) return;
    }
    const hadTrailers = this.hasTrailers();
    if (this.buffer() !== null) {
      this.doData(this.complete() && !hadTrailers);
      if (!this.canContinue()) return;
    }
    if (hadTrailers) this.doTrailers();
    this.iterateFromCurrentFilter = false;
  }

  abstract canContinue(): boolean;
  abstract complete(): boolean;
  abstract hasTrailers(): boolean;
  abstract buffer(): BodyBuffer | null;
  abstract createBuffer(): BodyBuffer;
  abstract bufferData(data: Buffer, streaming: boolean): void;
  abstract doHeaders(endStream: boolean): void;
  abstract doData(endStream: boolean): void;
  abstract doTrailers(): void;

  // --- Callbacks common to both directions.

  get dispatcher(): Dispatcher {
    return this.parent.callbacks.dispatcher;
  }

  get streamInfo(): StreamInfo {
    return this.parent.callbacks.streamInfo;
  }

  get streamId(): number {
    return this.parent.callbacks.streamId;
  }

  route(): StreamRoute | undefined {
    return this.parent.callbacks.route();
  }

  clearRouteCache(): void {
    this.parent.callbacks.clearRouteCache();
  }

  resetStream(reason: StreamResetReason, details: string): void {
    this.parent.callbacks.resetStream(reason, details);
  }
}

class ActiveDecoderFilter extends ActiveFilterBase implements StreamDecoderFilterCallbacks {
  readonly handle: StreamDecoderFilter;
  /** The same object is also an encoder filter (its onDestroy runs once). */
  readonly dual: boolean;

  constructor(parent: FilterManager, handle: StreamDecoderFilter, dual: boolean) {
    super(parent);
    this.handle = handle;
    this.dual = dual;
  }

  canContinue(): boolean {
    return !this.parent.destroyed && !this.parent.localComplete;
  }

  complete(): boolean {
    return this.parent.remoteComplete;
  }

  hasTrailers(): boolean {
    return this.parent.requestTrailers !== null;
  }

  buffer(): BodyBuffer | null {
    return this.parent.requestBuffer;
  }

  createBuffer(): BodyBuffer {
    return this.parent.createRequestBuffer();
  }

  bufferData(data: Buffer, streaming: boolean): void {
    this.parent.bufferRequestData(data, streaming);
  }

  doHeaders(endStream: boolean): void {
    const headers = this.parent.requestHeaders;
    if (headers !== null) this.parent.decodeHeaders(this, headers, endStream);
  }

  doData(endStream: boolean): void {
    this.parent.decodeData(this, this.parent.takeRequestBuffer(), endStream, CAN_START_FROM_CURRENT);
  }

  doTrailers(): void {
    const trailers = this.parent.requestTrailers;
    if (trailers !== null) this.parent.decodeTrailers(this, trailers);
  }

  // --- StreamDecoderFilterCallbacks

  continueDecoding(): void {
    this.commonContinue();
  }

  sendLocalReply(reply: LocalReply): void {
    this.parent.sendLocalReply(reply.status, reply.body, reply.modifyHeaders, reply.details);
  }

  encodeHeaders(headers: HeaderMap, endStream: boolean, details: string): void {
    this.parent.callbacks.streamInfo.responseCodeDetails = details;
    this.parent.responseHeaders = headers;
    this.parent.encodeHeaders(null, headers, endStream);
  }

  encodeData(data: Buffer, endStream: boolean): void {
    this.parent.encodeData(null, data, endStream, START_FROM_NEXT);
  }

  encodeTrailers(trailers: HeaderMap): void {
    this.parent.responseTrailers = trailers;
    this.parent.encodeTrailers(null, trailers);
  }

  encode1xxHeaders(headers: HeaderMap): void {
    this.parent.encode1xxHeaders(headers);
  }

  decodingBuffer(): Buffer | undefined {
    const buffer = this.parent.requestBuffer;
    return buffer === null ? undefined : buffer.view();
  }

  addDecodedData(data: Buffer, streaming: boolean): void {
    this.parent.addDecodedData(this, data, streaming);
  }

  onDecoderFilterAboveWriteBufferHighWatermark(): void {
    this.parent.callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
  }

  onDecoderFilterBelowWriteBufferLowWatermark(): void {
    this.parent.callbacks.onDecoderFilterBelowWriteBufferLowWatermark();
  }

  addDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void {
    this.parent.addDownstreamWatermarkCallbacks(cb);
  }

  removeDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void {
    this.parent.removeDownstreamWatermarkCallbacks(cb);
  }

  decoderBufferLimit(): number {
    return this.parent.bufferLimit;
  }

  get downstreamRemoteAddress(): string {
    return this.parent.callbacks.streamInfo.downstreamRemoteAddress;
  }

  get downstreamLocalAddress(): string {
    return this.parent.callbacks.downstreamLocalAddress;
  }

  get downstreamLocalPort(): number {
    return this.parent.callbacks.downstreamLocalPort;
  }

  get internalRequest(): boolean {
    return this.parent.callbacks.internalRequest;
  }
}

class ActiveEncoderFilter extends ActiveFilterBase implements StreamEncoderFilterCallbacks {
  readonly handle: StreamEncoderFilter;
  readonly dual: boolean;

  constructor(parent: FilterManager, handle: StreamEncoderFilter, dual: boolean) {
    super(parent);
    this.handle = handle;
    this.dual = dual;
  }

  canContinue(): boolean {
    return !this.parent.destroyed && !this.parent.encodeComplete;
  }

  complete(): boolean {
    return this.parent.localComplete;
  }

  hasTrailers(): boolean {
    return this.parent.responseTrailers !== null;
  }

  buffer(): BodyBuffer | null {
    return this.parent.responseBuffer;
  }

  createBuffer(): BodyBuffer {
    return this.parent.createResponseBuffer();
  }

  bufferData(data: Buffer, _streaming: boolean): void {
    this.parent.bufferResponseData(data);
  }

  doHeaders(endStream: boolean): void {
    const headers = this.parent.responseHeaders;
    if (headers !== null) this.parent.encodeHeaders(this, headers, endStream);
  }

  doData(endStream: boolean): void {
    this.parent.encodeData(this, this.parent.takeResponseBuffer(), endStream, CAN_START_FROM_CURRENT);
  }

  doTrailers(): void {
    const trailers = this.parent.responseTrailers;
    if (trailers !== null) this.parent.encodeTrailers(this, trailers);
  }

  continueEncoding(): void {
    this.commonContinue();
  }

  encodingBuffer(): Buffer | undefined {
    const buffer = this.parent.responseBuffer;
    return buffer === null ? undefined : buffer.view();
  }
}

/** One stream's filter chain and its state. */
export class FilterManager implements FilterChainFactoryCallbacks {
  readonly callbacks: FilterManagerCallbacks;
  /** Per-direction body buffer limit (the connection's, or `decoderBufferLimit()`). */
  bufferLimit: number;
  private readonly decoderFilters: ActiveDecoderFilter[] = [];
  /** In encoding order: the reverse of the configured order. */
  private readonly encoderFilters: ActiveEncoderFilter[] = [];
  private accessLogHandlers: AccessLogInstance[] | null = null;
  private watermarkCallbacks: DownstreamWatermarkCallbacks[] | null = null;
  private highWatermarkCount = 0;

  requestHeaders: HeaderMap | null = null;
  requestTrailers: HeaderMap | null = null;
  responseHeaders: HeaderMap | null = null;
  responseTrailers: HeaderMap | null = null;
  requestBuffer: BodyBuffer | null = null;
  responseBuffer: BodyBuffer | null = null;
  /** The whole request has been received. */
  remoteComplete = false;
  /** The response's end has been produced (it may still sit in an encoder filter). */
  localComplete = false;
  /** Response headers went to the codec: a local reply can only reset now. */
  responseSent = false;
  /** The end of the response went to the codec. */
  encodeComplete = false;
  destroyed = false;
  isHeadRequest = false;
  private filterChainCreated = false;
  private callState = 0;
  private decoderChainAborted = false;
  private encoderChainAborted = false;
  private decoderFiltersStreaming = false;

  constructor(callbacks: FilterManagerCallbacks, bufferLimit: number) {
    this.callbacks = callbacks;
    this.bufferLimit = bufferLimit;
  }

  // --- FilterChainFactoryCallbacks

  addStreamDecoderFilter(filter: StreamDecoderFilter): void {
    this.addDecoder(filter, false);
  }

  addStreamEncoderFilter(filter: StreamEncoderFilter): void {
    this.addEncoder(filter, false);
  }

  addStreamFilter(filter: StreamDecoderFilter & StreamEncoderFilter): void {
    this.addDecoder(filter, true);
    this.addEncoder(filter, true);
  }

  addAccessLogHandler(log: AccessLogInstance): void {
    if (this.accessLogHandlers === null) this.accessLogHandlers = [];
    this.accessLogHandlers.push(log);
  }

  private addDecoder(filter: StreamDecoderFilter, dual: boolean): void {
    const wrapper = new ActiveDecoderFilter(this, filter, dual);
    wrapper.index = this.decoderFilters.length;
    this.decoderFilters.push(wrapper);
    filter.setDecoderFilterCallbacks(wrapper);
  }

  private addEncoder(filter: StreamEncoderFilter, dual: boolean): void {
    const wrapper = new ActiveEncoderFilter(this, filter, dual);
    // Encoder filters run in reverse order of configuration.
    this.encoderFilters.unshift(wrapper);
    for (let i = 0; i < this.encoderFilters.length; i++) this.encoderFilters[i]!.index = i;
    filter.setEncoderFilterCallbacks(wrapper);
  }

  /** The access log handlers the filters added. */
  filterAccessLogs(): readonly AccessLogInstance[] | null {
    return this.accessLogHandlers;
  }

  /**
   * Creates the stream's filters once: the upgrade chain for an upgrade (or CONNECT) request,
   * else the default chain. False when the request asked for an upgrade that is not allowed
   * (the default chain is created anyway).
   */
  createFilterChain(): boolean {
    if (this.filterChainCreated) return true;
    this.filterChainCreated = true;
    const headers = this.requestHeaders;
    let upgrade: string | undefined;
    if (headers !== null) {
      upgrade = headers.get('upgrade');
      if (upgrade === undefined && headers.get(':method') === 'CONNECT') upgrade = 'CONNECT';
    }
    if (upgrade !== undefined) {
      if (this.callbacks.createUpgradeFilterChain(upgrade, this)) {
        this.callbacks.upgradeFilterChainCreated();
        return true;
      }
      this.callbacks.createDefaultFilterChain(this);
      return false;
    }
    this.callbacks.createDefaultFilterChain(this);
    return true;
  }

  // --- Decoding

  /** Request headers from `filter` on (null: from the first filter). */
  decodeHeaders(filter: ActiveDecoderFilter | null, headers: HeaderMap, endStream: boolean): void {
    const filters = this.decoderFilters;
    for (let i = filter === null ? 0 : filter.index + 1; i < filters.length; i++) {
      const f = filters[i]!;
      f.endStream = endStream;
      this.callState |= DECODE_HEADERS;
      const status = f.handle.decodeHeaders(headers, endStream);
      this.callState &= ~DECODE_HEADERS;
      f.headersCalled = true;
      if (this.decoderChainAborted || this.destroyed) return;
      // A stop from the last filter still lets data reach it (it may buffer what earlier filters added).
      if (!f.handleAfterHeaders(status) && i + 1 < filters.length) return;
    }
    if (endStream) this.callbacks.disarmRequestTimeout();
  }

  decodeData(
    filter: ActiveDecoderFilter | null,
    data: Buffer,
    endStream: boolean,
    canStartFromCurrent: boolean,
  ): void {
    this.callbacks.resetIdleTimer();
    // Once the response is complete, the rest of the request body interests no filter.
    if (this.localComplete || this.decoderChainAborted) return;
    const filters = this.decoderFilters;
    let i = 0;
    if (filter !== null)
      i = canStartFromCurrent && filter.iterateFromCurrentFilter ? filter.index : filter.index + 1;
    for (; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.stoppedAll()) {
        this.bufferRequestData(data, this.decoderFiltersStreaming);
        return;
      }
      if (f.endStream) return;
      f.endStream = endStream && this.requestTrailers === null;
      this.callState |= DECODE_DATA;
      const status = f.handle.decodeData(data, f.endStream);
      this.callState &= ~DECODE_DATA;
      if (this.decoderChainAborted || this.destroyed) return;
      if (!f.handleAfterData(status, data) && i + 1 < filters.length) return;
    }
    if (endStream) this.callbacks.disarmRequestTimeout();
  }

  decodeTrailers(filter: ActiveDecoderFilter | null, trailers: HeaderMap): void {
    if (this.localComplete || this.decoderChainAborted) return;
    const filters = this.decoderFilters;
    let i = 0;
    if (filter !== null) i = filter.iterateFromCurrentFilter ? filter.index : filter.index + 1;
    for (; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.stoppedAll()) return;
      this.callState |= DECODE_TRAILERS;
      const status = f.handle.decodeTrailers(trailers);
      this.callState &= ~DECODE_TRAILERS;
      f.endStream = true;
      if (this.decoderChainAborted || this.destroyed) return;
      if (!f.handleAfterTrailers(status)) return;
    }
    this.callbacks.disarmRequestTimeout();
  }

  createRequestBuffer(): BodyBuffer {
    this.requestBuffer ??= new BodyBuffer();
    return this.requestBuffer;
  }

  /** Adds request body to the shared buffer; past the limit: 413, or a read pause when streaming. */
  bufferRequestData(data: Buffer, streaming: boolean): void {
    const buffer = this.createRequestBuffer();
    if (buffer.chunks.length === 1 && buffer.chunks[0] === data) return; // already the buffered body
    buffer.add(data);
    if (buffer.length > this.bufferLimit && !buffer.aboveLimit) {
      buffer.aboveLimit = true;
      if (streaming) {
        this.callbacks.onDecoderFilterAboveWriteBufferHighWatermark();
      } else {
        this.callbacks.onRequestDataTooLarge();
        this.sendLocalReply(413, statusText(413), undefined, 'request_payload_too_large');
      }
    }
  }

  /** The buffered request body, handed on: the buffer is emptied. */
  takeRequestBuffer(): Buffer {
    const buffer = this.requestBuffer;
    if (buffer === null) return EMPTY;
    this.requestBuffer = null;
    if (buffer.aboveLimit && this.decoderFiltersStreaming)
      this.callbacks.onDecoderFilterBelowWriteBufferLowWatermark();
    return buffer.view();
  }

  addDecodedData(filter: ActiveDecoderFilter, data: Buffer, streaming: boolean): void {
    const state = this.callState;
    if (state === 0 || (state & (DECODE_HEADERS | DECODE_DATA)) !== 0) {
      this.decoderFiltersStreaming = streaming;
      this.bufferRequestData(data, streaming);
    } else if ((state & DECODE_TRAILERS) !== 0) {
      // Data added while trailers are decoded goes on to the next filters at once.
      this.decodeData(filter, data, false, START_FROM_NEXT);
    } else {
      throw new Error('bug: addDecodedData called while encoding');
    }
  }

  // --- Encoding

  encode1xxHeaders(headers: HeaderMap): void {
    this.callbacks.resetIdleTimer();
    if (this.responseSent || this.destroyed) return;
    this.callbacks.encode1xxHeaders(headers);
  }

  /** Response headers from `filter` on (null: from the first encoder filter). */
  encodeHeaders(filter: ActiveEncoderFilter | null, headers: HeaderMap, endStream: boolean): void {
    this.callbacks.resetIdleTimer();
    this.callbacks.disarmRequestTimeout();
    if (this.destroyed || this.encodeComplete) return;
    if (filter === null) this.localComplete = endStream;
    const filters = this.encoderFilters;
    for (let i = filter === null ? 0 : filter.index + 1; i < filters.length; i++) {
      const f = filters[i]!;
      f.endStream = endStream;
      this.callState |= ENCODE_HEADERS;
      const status = f.handle.encodeHeaders(headers, endStream);
      this.callState &= ~ENCODE_HEADERS;
      f.headersCalled = true;
      if (this.encoderChainAborted || this.destroyed) return;
      if (!f.handleAfterHeaders(status)) return;
    }
    this.responseSent = true;
    this.callbacks.encodeHeaders(headers, endStream);
    if (endStream) this.maybeEndEncode();
  }

  encodeData(
    filter: ActiveEncoderFilter | null,
    data: Buffer,
    endStream: boolean,
    canStartFromCurrent: boolean,
  ): void {
    this.callbacks.resetIdleTimer();
    if (this.destroyed || this.encodeComplete) return;
    if (filter === null) this.localComplete = endStream;
    const filters = this.encoderFilters;
    let i = 0;
    if (filter !== null)
      i = canStartFromCurrent && filter.iterateFromCurrentFilter ? filter.index : filter.index + 1;
    for (; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.stoppedAll()) {
        this.bufferResponseData(data);
        return;
      }
      if (f.endStream) return;
      f.endStream = endStream && this.responseTrailers === null;
      this.callState |= ENCODE_DATA;
      const status = f.handle.encodeData(data, f.endStream);
      this.callState &= ~ENCODE_DATA;
      if (this.encoderChainAborted || this.destroyed) return;
      if (!f.handleAfterData(status, data)) return;
    }
    this.callbacks.encodeData(data, endStream);
    if (endStream) this.maybeEndEncode();
  }

  encodeTrailers(filter: ActiveEncoderFilter | null, trailers: HeaderMap): void {
    this.callbacks.resetIdleTimer();
    if (this.destroyed || this.encodeComplete) return;
    if (filter === null) this.localComplete = true;
    const filters = this.encoderFilters;
    let i = 0;
    if (filter !== null) i = filter.iterateFromCurrentFilter ? filter.index : filter.index + 1;
    for (; i < filters.length; i++) {
      const f = filters[i]!;
      if (f.stoppedAll()) return;
      this.callState |= ENCODE_TRAILERS;
      const status = f.handle.encodeTrailers(trailers);
      this.callState &= ~ENCODE_TRAILERS;
      f.endStream = true;
      if (this.encoderChainAborted || this.destroyed) return;
      if (!f.handleAfterTrailers(status)) return;
    }
    this.callbacks.encodeTrailers(trailers);
    this.maybeEndEncode();
  }

  createResponseBuffer(): BodyBuffer {
    this.responseBuffer ??= new BodyBuffer();
    return this.responseBuffer;
  }

  /** Adds response body to the shared buffer; past the limit: a 500 (or a reset once the response is out). */
  bufferResponseData(data: Buffer): void {
    const buffer = this.createResponseBuffer();
    if (buffer.chunks.length === 1 && buffer.chunks[0] === data) return;
    buffer.add(data);
    if (buffer.length > this.bufferLimit && !buffer.aboveLimit) {
      buffer.aboveLimit = true;
      this.callbacks.onResponseDataTooLarge();
      this.sendLocalReply(500, statusText(500), undefined, 'response_payload_too_large');
    }
  }

  takeResponseBuffer(): Buffer {
    const buffer = this.responseBuffer;
    if (buffer === null) return EMPTY;
    this.responseBuffer = null;
    return buffer.view();
  }

  private maybeEndEncode(): void {
    if (this.encodeComplete) return;
    this.encodeComplete = true;
    this.callbacks.endStream();
  }

  // --- Local replies

  /**
   * Envoy's `sendLocalReply`: through the encoder filters when no response has started, straight
   * to the codec when one has started in the filters but nothing went downstream, else a reset.
   */
  sendLocalReply(
    status: number,
    body: string | Buffer,
    modifyHeaders: ((headers: HeaderMap) => void) | undefined,
    details: string,
  ): void {
    if (this.destroyed) return;
    if ((this.callState & DECODING) !== 0) this.decoderChainAborted = true;
    else if ((this.callState & ENCODING) !== 0) this.encoderChainAborted = true;
    this.callbacks.streamInfo.responseCodeDetails = details;
    this.callbacks.onLocalReply(status);
    const bytes = typeof body === 'string' ? (body.length === 0 ? EMPTY : Buffer.from(body, 'utf8')) : body;
    if (this.responseHeaders === null) {
      this.sendLocalReplyViaFilterChain(status, bytes, modifyHeaders);
    } else if (!this.responseSent) {
      this.sendDirectLocalReply(status, bytes, modifyHeaders);
    } else {
      this.callbacks.resetStream('LocalReset', details);
    }
  }

  private localReplyHeaders(
    status: number,
    body: Buffer,
    modifyHeaders: ((headers: HeaderMap) => void) | undefined,
  ): HeaderMapImpl {
    const headers = new HeaderMapImpl();
    headers.addLowerCase(':status', String(status));
    if (body.length > 0) {
      headers.addLowerCase('content-length', String(body.length));
      headers.addLowerCase('content-type', 'text/plain');
    }
    modifyHeaders?.(headers);
    return headers;
  }

  private sendLocalReplyViaFilterChain(
    status: number,
    body: Buffer,
    modifyHeaders: ((headers: HeaderMap) => void) | undefined,
  ): void {
    // For early errors, make the filter chain anyway: its access logs see the reply.
    this.createFilterChain();
    const headers = this.localReplyHeaders(status, body, modifyHeaders);
    this.responseHeaders = headers;
    const headersOnly = this.isHeadRequest || body.length === 0;
    this.encoderChainAborted = false;
    this.encodeHeaders(null, headers, headersOnly);
    if (!headersOnly && !this.destroyed && !this.encoderChainAborted) {
      this.encodeData(null, body, true, START_FROM_NEXT);
    }
  }

  private sendDirectLocalReply(
    status: number,
    body: Buffer,
    modifyHeaders: ((headers: HeaderMap) => void) | undefined,
  ): void {
    const headers = this.localReplyHeaders(status, body, modifyHeaders);
    this.responseHeaders = headers;
    this.responseTrailers = null;
    this.responseBuffer = null;
    this.localComplete = true;
    const headersOnly = this.isHeadRequest || body.length === 0;
    this.responseSent = true;
    this.callbacks.encodeHeaders(headers, headersOnly);
    if (!headersOnly && !this.destroyed) this.callbacks.encodeData(body, true);
    if (!this.destroyed) this.maybeEndEncode();
  }

  // --- Downstream watermarks

  addDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void {
    if (this.watermarkCallbacks === null) this.watermarkCallbacks = [];
    this.watermarkCallbacks.push(cb);
    // A filter that registers while the downstream is backed up learns it at once.
    for (let i = 0; i < this.highWatermarkCount; i++) cb.onAboveWriteBufferHighWatermark();
  }

  removeDownstreamWatermarkCallbacks(cb: DownstreamWatermarkCallbacks): void {
    const list = this.watermarkCallbacks;
    if (list === null) return;
    const i = list.indexOf(cb);
    if (i >= 0) removeIndex(list, i);
  }

  callHighWatermarkCallbacks(): void {
    this.highWatermarkCount++;
    const list = this.watermarkCallbacks;
    if (list !== null) for (let i = 0; i < list.length; i++) list[i]!.onAboveWriteBufferHighWatermark();
  }

  callLowWatermarkCallbacks(): void {
    if (this.highWatermarkCount > 0) this.highWatermarkCount--;
    const list = this.watermarkCallbacks;
    if (list !== null) for (let i = 0; i < list.length; i++) list[i]!.onBelowWriteBufferLowWatermark();
  }

  // --- End of the stream

  /** Every filter's onDestroy, once (a dual filter once). */
  destroyFilters(): void {
    this.destroyed = true;
    const decoders = this.decoderFilters;
    for (let i = 0; i < decoders.length; i++) decoders[i]!.handle.onDestroy();
    const encoders = this.encoderFilters;
    for (let i = 0; i < encoders.length; i++) {
      const f = encoders[i]!;
      if (!f.dual) f.handle.onDestroy();
    }
  }
}
