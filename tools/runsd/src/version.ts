/** Sent in `User-Agent: runsd version=<v>; <original>`, as the Go runsd does. */
export const version = '0.1.0';
