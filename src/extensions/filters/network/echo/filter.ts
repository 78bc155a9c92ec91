/**
 * `envoy.filters.network.echo` on the data path: writes every byte it reads back to the
 * peer, and the peer's half-close back as a half-close.
 *
 * Worker thread, one instance per connection. While the connection's write buffer is
 * above its limit (a peer that sends but does not read), it stops reading, so memory per
 * connection stays bounded. Envoy counterpart: `Envoy::Filter::EchoFilter`
 * (`source/extensions/filters/network/echo/echo.cc`).
 */
import type {
  ConnectionCallbacks,
  FilterStatus,
  ReadFilter,
  ReadFilterCallbacks,
} from '../../../../network/types.ts';
import type { NetworkFilterRuntime } from '../../../../server/filter-context.ts';

class EchoFilter implements ReadFilter, ConnectionCallbacks {
  private callbacks: ReadFilterCallbacks | undefined;

  initializeReadFilterCallbacks(callbacks: ReadFilterCallbacks): void {
    this.callbacks = callbacks;
    callbacks.connection().addConnectionCallbacks(this);
  }

  onData(data: Buffer, endStream: boolean): FilterStatus {
    this.callbacks?.connection().write(data, endStream);
    return 'StopIteration';
  }

  onAboveWriteBufferHighWatermark(): void {
    this.callbacks?.connection().readDisable(true);
  }

  onBelowWriteBufferLowWatermark(): void {
    this.callbacks?.connection().readDisable(false);
  }
}

export const echoRuntime: NetworkFilterRuntime = {
  name: 'envoy.filters.network.echo',
  createFilterFactory: () => (filterManager) => filterManager.addReadFilter(new EchoFilter()),
};
