import { Agent, setGlobalDispatcher } from 'undici';
import { RunsdDispatcher } from './dispatcher.js';
import { type RunsdContext, contextVariable, createRouter } from './runtime.js';

/**
 * Loaded into a Node child with `--import` (runsd puts it in NODE_OPTIONS).
 * It installs runsd's dispatcher as undici's global dispatcher, which Node's
 * fetch, undici and the generated clients all use, so `http://tacoserver/`
 * is rewritten in-process. Outside runsd (no RUNSD_CONTEXT) it does nothing.
 */
const raw = process.env[contextVariable];
if (raw !== undefined && raw !== '') {
  const context = JSON.parse(raw) as RunsdContext;
  setGlobalDispatcher(new RunsdDispatcher(createRouter(context, process.env), new Agent()));
}
