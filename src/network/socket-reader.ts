/**
 * Socket reads without an ArrayBuffer per read.
 *
 * Any thread; the buffers below are module state, so each thread has its own. By default Node
 * allocates a 64 KiB buffer for every read, shrinks it to the bytes read, wraps it in an
 * ArrayBuffer and pushes it through the Readable stream machinery: with small requests that is
 * about a sixth of the proxy's CPU. A socket built with `onread` reads into memory we give it
 * and calls us directly instead.
 *
 * - **Shared.** A thread's sockets start out reading into one shared 64 KiB buffer. Each read
 *   is copied out into a right-sized Buffer (Node's allocation pool serves the small ones)
 *   before any other socket's read can land there.
 * - **Own.** A read over `COPY_LIMIT` gives the socket a 64 KiB buffer of its own (bulk bodies,
 *   tcp_proxy streams), while the thread has fewer than `MAX_OWN_BUFFERS` out. A read of at
 *   least `HANDOVER_BYTES` into it is passed on without a copy and the socket gets a fresh
 *   buffer; a shorter one is copied out and the buffer kept. After `SMALL_READS_TO_SHARE`
 *   small reads in a row, or when the socket closes, the socket goes back to the shared buffer
 *   and its own buffer to a short free list.
 *
 * Either way a chunk passed on belongs to its consumer, as a `'data'` chunk does: filters may
 * keep it. One passed on without a copy holds at most twice its length (a copied one is a
 * slice of Node's pool, as any small Buffer is). Backpressure is unchanged:
 * `socket.pause()` / `resume()` stop and restart the reads; the peer's FIN still arrives as
 * the socket's `'end'` event. Envoy counterpart: the `Buffer::OwnedImpl` that
 * `RawBufferSocket::doRead` reads into.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';

/** The size of every read buffer: Node's own read size. */
const READ_BUFFER_BYTES = 64 * 1024;
/** Reads up to this size never move a socket to its own buffer. */
const COPY_LIMIT = 8 * 1024;
/** Reads into a socket's own buffer at least this long are passed on without a copy. */
const HANDOVER_BYTES = READ_BUFFER_BYTES / 2;
/** Small reads in a row after which a socket gives its own buffer back. */
const SMALL_READS_TO_SHARE = 2;
/** Own buffers a thread lends out at once (4 MiB); past it sockets copy every read. */
export const MAX_OWN_BUFFERS = 64;
/** Own buffers a thread keeps for reuse. */
const FREE_LIST_LENGTH = 8;

let shared: Buffer | undefined;
let ownBuffersOut = 0;
const freeList: Buffer[] = [];

function sharedBuffer(): Buffer {
  shared ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  return shared;
}

function takeOwnBuffer(): Buffer {
  return freeList.pop() ?? Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
}

function copyOut(from: Buffer, n: number): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  from.copy(chunk, 0, 0, n);
  return chunk;
}

/** How many own buffers this thread has lent to sockets (for tests). */
export function ownReadBuffersOut(): number {
  return ownBuffersOut;
}

/** Where a reader's chunks go (set once the connection exists; no data arrives before that). */
export type ChunkSink = (chunk: Buffer) => void;

function dropChunk(_chunk: Buffer): void {}

/**
 * The `onread` option of one socket. Create it, build the socket with `reader.onread`
 * (`net.connect`, or `adoptAcceptedSocket`), then `setSink`; `release()` once the socket closed.
 */
export class SocketReader {
  readonly onread: net.OnReadOpts;
  private sink: ChunkSink = dropChunk;
  /** The buffer the socket reads into: the shared one, or its own. */
  private current: Buffer = sharedBuffer();
  private smallReads = 0;

  constructor() {
    this.onread = { buffer: this.nextBuffer, callback: this.onRead };
  }

  setSink(sink: ChunkSink): void {
    this.sink = sink;
  }

  /** The socket closed: its own buffer, if it has one, goes back to the thread. */
  release(): void {
    this.sink = dropChunk;
    if (this.current !== shared) this.giveBack();
  }

  /** Node asks before the first read and after each one. */
  private readonly nextBuffer = (): Buffer => this.current;

  private readonly onRead = (n: number): boolean => {
    const from = this.current;
    let chunk: Buffer;
    if (from === shared) {
      chunk = copyOut(from, n);
      if (n > COPY_LIMIT && ownBuffersOut < MAX_OWN_BUFFERS) {
        ownBuffersOut++;
        this.current = takeOwnBuffer();
        this.smallReads = 0;
      }
    } else if (n >= HANDOVER_BYTES) {
      chunk = from.subarray(0, n);
      this.current = takeOwnBuffer();
      this.smallReads = 0;
    } else {
      chunk = copyOut(from, n);
      if (n > COPY_LIMIT) this.smallReads = 0;
      else if (++this.smallReads >= SMALL_READS_TO_SHARE) this.giveBack();
    }
    this.sink(chunk);
    return true;
  };

  private giveBack(): void {
    ownBuffersOut--;
    if (freeList.length < FREE_LIST_LENGTH) freeList.push(this.current);
    this.current = sharedBuffer();
  }
}

/**
 * Moves an accepted socket's handle into a socket that reads through `reader`. `net.Server`
 * has no `onread` option, so the server accepts with `pauseOnConnect` (nothing read yet) and
 * the handle changes owner here. The first socket stays behind without a handle; destroying
 * it when the new one closes keeps the server's connection count right (`server.close()`
 * waits for it).
 */
export function adoptAcceptedSocket(
  accepted: net.Socket,
  reader: SocketReader,
  highWaterMark: number,
): net.Socket {
  const holder = accepted as unknown as { _handle: unknown };
  const handle = holder._handle;
  holder._handle = null;
  const socket = new net.Socket({
    handle,
    allowHalfOpen: true,
    readable: true,
    writable: true,
    onread: reader.onread,
    readableHighWaterMark: highWaterMark,
    writableHighWaterMark: highWaterMark,
  } as net.SocketConstructorOpts);
  socket.once('close', () => accepted.destroy());
  return socket;
}
