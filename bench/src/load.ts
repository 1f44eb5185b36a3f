// autocannon in a process of its own: the harness starts one per run, pinned to a core of its own where the
// machine has one to spare, so the load generator never shares the server's core (a Cloud Run instance has its
// vCPU to itself) and the harness's own work stays out of both. Reads its options as JSON from argv, prints
// the run's figures as JSON.
import autocannon from 'autocannon';
import type { LoadOptions } from './measure.js';

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const { url, method = 'GET', path, body, seconds, connections = 50, headers = {} } = options;
const result = await autocannon({
  url,
  connections,
  duration: seconds,
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
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  }),
);
