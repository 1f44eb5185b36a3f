// autocannon in a process of its own: the harness starts one per run, pinned to a core of its own where the
// machine has one to spare, so the load generator never shares the server's core (a Cloud Run instance has its
// vCPU to itself) and the harness's own work stays out of both. Reads its options as JSON from argv, prints
// the run's figures as JSON.
import autocannon from 'autocannon';
import type { LoadOptions } from './measure.js';

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const { url, method = 'GET', path, body, seconds, connections = 50, headers = {} } = options;
// Each answer's time as autocannon measures it (process.hrtime), kept here: its own percentiles come from a
// histogram of whole milliseconds, too coarse for the p99 a target compares (8 ms against 9 is 1.13×).
const latencies: number[] = [];
const result = await autocannon({
  url,
  connections,
  duration: seconds,
  setupClient: (client: autocannon.Client) => {
    client.on('response', (_status: number, _bytes: number, ms: number) => latencies.push(ms));
  },
  // autocannon's per-request path would otherwise default to "/", not the URL's.
  requests: [
    {
      method,
      path: path ?? new URL(url).pathname,
      body,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    },
  ],
});
process.stdout.write(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50: percentile(0.5),
    p99: percentile(0.99),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);

/** The latency under which this share of the answers came, in ms to the microsecond. */
function percentile(share: number): number {
  if (latencies.length === 0) return Number.NaN;
  const sorted = Float64Array.from(latencies).sort();
  return (
    Math.round((sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * share))] ?? Number.NaN) * 1000) / 1000
  );
}
