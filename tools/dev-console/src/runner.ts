import { portNumber } from '@taco-run/project/ports';
import { type DevConsole, type DevConsoleOptions, defaultConsolePort, startDevConsole } from './server.js';

/** The options `pnpm dev`, `pnpm start` and `pnpm dev:cloud` take for the console, as parseCommandLine reads them. */
export const consoleOptions = {
  'console-port': { type: 'string' },
  'no-console': { type: 'boolean' },
} as const;

export const consoleUsage = `  --console-port <n>     the dev console's port (default ${defaultConsolePort}; 0 for a free one)
  --no-console           do not start the dev console`;

/**
 * The console's port from the command line: undefined for none, a usage
 * mistake as a message. With free ports for the services (the tests), it
 * takes a free one too unless told otherwise.
 */
export function consolePort(
  values: { 'console-port'?: string | undefined; 'no-console'?: boolean | undefined },
  freePorts = false,
): number | undefined | { error: string } {
  const given = values['console-port'];
  if (values['no-console']) {
    return given === undefined ? undefined : { error: '--console-port and --no-console cannot go together' };
  }
  if (given === undefined) return freePorts ? 0 : defaultConsolePort;
  return portNumber(given) ?? { error: `--console-port takes a port number, got "${given}"` };
}

/**
 * Starts the console for a runner. A port already taken (a second `pnpm dev`)
 * is said in one line, and the runner goes on without a console: the
 * services matter more than their dashboard.
 */
export async function startRunnerConsole(
  options: DevConsoleOptions & { port: number },
  say: (line: string) => void,
): Promise<DevConsole | undefined> {
  try {
    const devConsole = await startDevConsole(options);
    say(`dev console on ${devConsole.url} (services, API explorer, traces, data)`);
    return devConsole;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    say(
      code === 'EADDRINUSE'
        ? `the dev console's port ${options.port} is taken, so it is not started; pass --console-port <n> or --no-console`
        : `the dev console did not start: ${(error as Error).message}`,
    );
    return undefined;
  }
}

/**
 * What a service's environment gets for its spans to reach the console at
 * `endpoint`: OpenTelemetry's own variables, with batches sent every 100 ms
 * so a trace shows up as the request ends. A collector the developer set
 * (OTEL_EXPORTER_OTLP_ENDPOINT in their environment) is left as it is.
 */
export function consoleTelemetry(endpoint: string | undefined, env: NodeJS.ProcessEnv): Record<string, string> {
  if (endpoint === undefined || env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return {};
  return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '100' };
}
