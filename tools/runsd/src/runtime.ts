import { log } from './log.js';
import type { ResolveContext } from './resolve.js';
import { Router } from './router.js';
import type { PendingCloud } from './setup.js';
import { TokenCache } from './token-cache.js';
import { chooseTokenSource } from './token-sources.js';

/** What the runsd process hands to the preload in its child, as RUNSD_CONTEXT, so the child asks the metadata server nothing but tokens. */
export interface RunsdContext {
  /** Where short names go, or in the cloud, until runsd has it, where it will come from. */
  resolve: ResolveContext | PendingCloud;
  targetOverride?: string | undefined;
  /** runsd's own process id: the app it starts leaves with it (see the preload). */
  runsdPid?: number;
}

export const contextVariable = 'RUNSD_CONTEXT';

/** One router with its token cache, as the proxy and the preload each build it. */
export function createRouter(
  context: ResolveContext | (() => Promise<ResolveContext>),
  targetOverride: string | undefined,
  env: NodeJS.ProcessEnv,
): Router {
  const onCloudRun = typeof context === 'function' || context.mode === 'cloud';
  const { name, source, mayReceive } = chooseTokenSource(env, onCloudRun);
  const tokens = new TokenCache({
    source,
    onBackgroundError: (audience, error) =>
      log('WARNING', `refreshing the token for ${audience} failed; the current one is still valid: ${error.message}`),
  });
  return new Router({ context, tokens, tokenSource: name, mayReceiveToken: mayReceive, targetOverride });
}
