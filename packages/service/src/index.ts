export { type TraceContext, traceFromHeaders, traceLogFields } from '@taco-run/rpc/trace';
export { createServiceApp, type ServiceAppOptions } from './app.js';
export { ConfigError, flag, httpUrl, logLevel, milliseconds, parseEnv, port, postgresUrl, seconds } from './config.js';
export { CloudRunLogController, cloudLoggingOptions, logArrivals } from './logging.js';
export { start } from './main.js';
export { type ServeOptions, serve } from './serve.js';
export { mapStackTracesOnDemand } from './stack-traces.js';
