/**
 * Runs raw request bytes through Legate's HTTP/1 codecs as a proxy would: the server codec
 * decodes what the client sent, every decoded event is re-encoded by a client codec towards
 * a fake upstream, and each complete request is answered `200` downstream.
 *
 * Test thread only. No sockets: both sides are `FakeConnection`s sharing one dispatcher, and
 * input is dispatched inside `dispatcher.run()` so the codecs' scheduled work (held output,
 * pipelined resume) completes before the run returns.
 */
import { HeaderMapImpl } from '../../../src/http/header-map.ts';
import { ClientConnectionImpl, ServerConnectionImpl } from '../../../src/http/http1/codec.ts';
import { type Http1Settings, http1Settings } from '../../../src/http/http1/settings.ts';
import type { HeaderMap, RequestDecoder, RequestEncoder, ResponseEncoder } from '../../../src/http/types.ts';
import { FakeConnection } from '../fake-connection.ts';

export interface CodecOutcome {
  /** Bytes that reached the upstream. */
  forwarded: string;
  /** Status codes of the responses written downstream, in order. */
  statuses: number[];
  /** Details of codec errors (from stream resets and dispatch results). */
  details: string[];
  /** What each decoded request looked like: headers (as pairs) and the body, for comparisons. */
  requests: Array<{ headers: Array<[string, string]>; body: string; trailers: Array<[string, string]> }>;
  downstream: string;
  closed: boolean;
}

const OK = HeaderMapImpl.of([
  [':status', '200'],
  ['content-length', '0'],
]);

/**
 * Sends `raw` to a server codec, in one piece or `chunkSize` bytes at a time, then signals the
 * client's half-close.
 */
export function runThroughCodec(
  raw: string,
  overrides: Partial<Http1Settings> = {},
  chunkSize = Number.POSITIVE_INFINITY,
): CodecOutcome {
  const settings = http1Settings(overrides);
  const down = new FakeConnection();
  const up = new FakeConnection(down.dispatcher);
  const outcome: CodecOutcome = {
    forwarded: '',
    statuses: [],
    details: [],
    requests: [],
    downstream: '',
    closed: false,
  };
  const server = new ServerConnectionImpl(
    down,
    {
      newStream(encoder: ResponseEncoder): RequestDecoder {
        return new ProxyingDecoder(encoder, up, settings, outcome);
      },
    },
    settings,
  );
  const bytes = Buffer.from(raw, 'latin1');
  down.dispatcher.run(() => {
    for (let i = 0; i < bytes.length; i += chunkSize) {
      const error = server.dispatch(bytes.subarray(i, Math.min(bytes.length, i + chunkSize)), false);
      if (error !== null) {
        outcome.details.push(error.details);
        break;
      }
    }
  });
  down.dispatcher.run(() => {
    server.dispatch(Buffer.alloc(0), true);
  });
  outcome.forwarded = up.text();
  outcome.downstream = down.text();
  outcome.closed = down.closeType !== null;
  for (const m of outcome.downstream.matchAll(/HTTP\/1\.[01] (\d{3}) /g)) outcome.statuses.push(Number(m[1]));
  return outcome;
}

/** The connection manager and router of the harness: forwards each request upstream as decoded. */
class ProxyingDecoder implements RequestDecoder {
  private readonly encoder: ResponseEncoder;
  private readonly upstream: RequestEncoder;
  private readonly record: {
    headers: Array<[string, string]>;
    body: string;
    trailers: Array<[string, string]>;
  };

  constructor(encoder: ResponseEncoder, up: FakeConnection, settings: Http1Settings, outcome: CodecOutcome) {
    this.encoder = encoder;
    const client = new ClientConnectionImpl(up, { ...settings, maxHeadersKb: 80 });
    this.upstream = client.newStream({
      decode1xxHeaders() {},
      decodeHeaders() {},
      decodeData() {},
      decodeTrailers() {},
    });
    this.record = { headers: [], body: '', trailers: [] };
    outcome.requests.push(this.record);
    encoder.getStream().addCallbacks({
      onResetStream: (_reason, details) => {
        outcome.details.push(details);
      },
    });
  }

  decodeHeaders(headers: HeaderMap, endStream: boolean): void {
    this.record.headers = (headers as HeaderMapImpl).entries();
    this.upstream.encodeHeaders(headers, endStream);
    if (endStream) this.respond();
  }

  decodeData(data: Buffer, endStream: boolean): void {
    this.record.body += data.toString('latin1');
    this.upstream.encodeData(data, endStream);
    if (endStream) this.respond();
  }

  decodeTrailers(trailers: HeaderMap): void {
    this.record.trailers = (trailers as HeaderMapImpl).entries();
    this.upstream.encodeTrailers(trailers);
    this.respond();
  }

  private respond(): void {
    this.encoder.encodeHeaders(OK, true);
  }
}
