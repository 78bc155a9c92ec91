-- wrk script for `npm run bench` (bench/e2e/load.ts): when the run ends, print one line
-- "LEGATE_BENCH {json}" with the request count, bytes, wrk's own measured duration, the
-- latency percentiles in microseconds and every error counter, so the harness reads exact
-- figures instead of wrk's rounded text.
done = function(summary, latency, requests)
  local e = summary.errors
  local p = function(q) return math.floor(latency:percentile(q)) end
  io.write(string.format(
    'LEGATE_BENCH {"requests":%d,"bytes":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"p999_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.bytes, summary.duration, p(50), p(90), p(99), p(99.9),
    math.floor(latency.max), e.connect, e.read, e.write, e.status, e.timeout))
end
