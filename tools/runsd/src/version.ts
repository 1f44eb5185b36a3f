import packageJson from '../package.json' with { type: 'json' };

/** Sent in `User-Agent: runsd version=<v>; <original>`, as the Go runsd does. */
export const version = packageJson.version;
