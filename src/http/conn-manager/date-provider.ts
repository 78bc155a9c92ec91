/**
 * The `date` response header value (RFC 9110 IMF-fixdate), formatted at most about twice a
 * second and shared by every stream of the thread.
 *
 * Worker threads; one per Dispatcher (created lazily by the connection managers of that
 * thread). The cached value is refreshed when the Dispatcher's cached monotonic time has moved
 * 500 ms since the last formatting, so a response costs a comparison, not a clock read and a
 * format. Envoy counterpart: `TlsCachingDateProviderImpl` (source/common/http/
 * date_provider_impl.cc), which refreshes on a 500 ms timer.
 */
import type { Dispatcher } from '../../event/types.ts';

const REFRESH_MS = 500;

export class DateProvider {
  private readonly dispatcher: Dispatcher;
  private value = '';
  private formattedAt = Number.NEGATIVE_INFINITY;

  constructor(dispatcher: Dispatcher) {
    this.dispatcher = dispatcher;
  }

  /** The current date header value, e.g. `Tue, 15 Nov 1994 08:12:31 GMT`. */
  date(): string {
    const now = this.dispatcher.approximateMonotonicTime();
    if (now - this.formattedAt >= REFRESH_MS) {
      this.formattedAt = now;
      this.value = new Date(this.dispatcher.systemTime()).toUTCString();
    }
    return this.value;
  }
}

const providers = new WeakMap<Dispatcher, DateProvider>();

/** The date provider of `dispatcher`'s thread. */
export function dateProviderFor(dispatcher: Dispatcher): DateProvider {
  let provider = providers.get(dispatcher);
  if (provider === undefined) {
    provider = new DateProvider(dispatcher);
    providers.set(dispatcher, provider);
  }
  return provider;
}
