export { readApis } from './apis.js';
export { HealthPoller } from './health.js';
export { OtlpError, otlpReceiver, spansFromOtlp } from './otlp.js';
export { consoleOptions, consolePort, consoleTelemetry, consoleUsage, startRunnerConsole } from './runner.js';
export { type DevConsole, type DevConsoleOptions, defaultConsolePort, startDevConsole } from './server.js';
export { readLogLine, TraceStore } from './traces.js';
export type * from './views.js';
