import { ConfigError } from './config.js';
import { mapStackTracesOnDemand } from './stack-traces.js';

/**
 * Runs a service's start-up, with stack traces that name the TypeScript
 * sources (mapped when first formatted), turning a configuration mistake into one clear
 * line on stderr and exit code 1 instead of a stack trace.
 */
export function start(name: string, main: () => Promise<unknown>): void {
  mapStackTracesOnDemand();
  main().catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
    } else {
      process.stderr.write(
        `${name}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  });
}
