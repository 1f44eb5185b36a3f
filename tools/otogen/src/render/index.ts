import type { Model } from '../model.js';
import { header } from './text.js';

/** index.ts: everything at once, plus the runtime's error type, which callers catch. */
export function renderIndex(model: Model, runtime: string): string {
  return `${header(model.sources)}

export * from './types.js';
export * from './schemas.js';
export * from './server.js';
export * from './client.js';
export { type Code, RpcError, isRpcError } from '${runtime}';
`;
}
