import { commonJs } from './commonjs.js';
import { RunsdDispatcher } from './dispatcher.js';
import { receiveContext } from './handoff.js';
import type { ResolveContext } from './resolve.js';
import { contextVariable, createRouter, type RunsdContext } from './runtime.js';
import type { PendingCloud } from './setup.js';

/**
 * Loaded into a Node child with `--import` (runsd puts it in NODE_OPTIONS).
 * It installs runsd's dispatcher as undici's global dispatcher, which Node's
 * fetch, undici and the generated clients all use, so `http://tacoserver/`
 * is rewritten in-process. Outside runsd (no RUNSD_CONTEXT) it does nothing.
 *
 * It sets the global itself, as undici's setGlobalDispatcher does (under
 * both of undici's symbols), rather than importing undici for it: undici
 * then loads on the first request, off the app's cold-start path. An undici
 * loaded later by the app keeps a global dispatcher that is already set.
 */
const raw = process.env[contextVariable];
if (raw !== undefined && raw !== '') {
  const context = JSON.parse(raw) as RunsdContext;
  // Only runsd's own child holds runsd's end of things: the context's pipe, and runsd as its parent.
  const started = context.runsdPid !== undefined && process.ppid === context.runsdPid;
  const { resolve } = context;
  const dispatcher = new RunsdDispatcher(
    createRouter(
      resolve.mode === 'cloud-pending' ? contextToCome(context, resolve, started) : resolve,
      context.targetOverride,
      process.env,
    ),
    async () => new (commonJs(await import('undici')).Agent)(),
  );
  if (started && context.runsdPid !== undefined) leaveWithParent(context.runsdPid);
  for (const name of ['undici.globalDispatcher.1', 'undici.globalDispatcher.2']) {
    Object.defineProperty(globalThis, Symbol.for(name), {
      value: dispatcher,
      writable: true,
      enumerable: false,
      configurable: false,
    });
  }
}

/**
 * The cloud context while runsd is still asking the metadata server for it.
 * The app runsd started reads it from the pipe as soon as it comes, and puts
 * it in RUNSD_CONTEXT for the processes it starts later. A process started
 * in between (a grandchild, or an app behind a shell that did not `exec`)
 * asks the metadata server itself, when its first call to a service needs it.
 */
function contextToCome(context: RunsdContext, pending: PendingCloud, started: boolean): () => Promise<ResolveContext> {
  if (!started || pending.fd === undefined) {
    return () => import('./setup.js').then(({ completeCloudSetup }) => completeCloudSetup(pending));
  }
  const received = receiveContext(pending.fd).then((resolve) => {
    process.env[contextVariable] = JSON.stringify({ ...context, resolve });
    return resolve;
  });
  // Reported by the call that needs the context; until one does, a failure is runsd's to report, and it stops the app.
  received.catch(() => {});
  return () => received;
}

/**
 * The app runsd started stops when runsd is gone. A runsd killed outright
 * (SIGKILL, a crash) cannot pass a signal on, and its app would live on as
 * an orphan holding its port. Reparented, the app sends itself SIGTERM, so it
 * drains as it would on Cloud Run. Only runsd's own child watches: processes
 * the app starts inherit NODE_OPTIONS, but their parent is the app.
 */
function leaveWithParent(parent: number): void {
  const watch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(watch);
    process.kill(process.pid, 'SIGTERM');
  }, 500);
  watch.unref();
}
