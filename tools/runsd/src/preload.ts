import { commonJs } from './commonjs.js';
import { RunsdDispatcher } from './dispatcher.js';
import { contextVariable, createRouter, type RunsdContext } from './runtime.js';

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
  const dispatcher = new RunsdDispatcher(
    createRouter(context, process.env),
    async () => new (commonJs(await import('undici')).Agent)(),
  );
  if (context.runsdPid !== undefined && process.ppid === context.runsdPid) leaveWithParent(context.runsdPid);
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
