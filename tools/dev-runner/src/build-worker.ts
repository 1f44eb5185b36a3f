import { resolve } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { build } from 'tsup';
import type { EsbuildPlugin } from '../../../scripts/node-bundle.js';
import { serviceBundle } from '../../../services/bundle.js';

/**
 * One service's bundle build, in a worker thread, as `pnpm build` makes it:
 * tsup keeps its output quiet only for
 * its own log lines, and in a worker even its "Build failed" line becomes a
 * message the dev runner drops, so that each build is reported in one line
 * of the dev runner's own, with the first error at file:line.
 */
export interface BuildJob {
  id: number;
  /** The service's folder. */
  service: string;
}

export type BuildOutcome =
  | { id: number; ok: true; inputs: string[] }
  | { id: number; ok: false; errors: string[]; inputs: string[] };

/** The part of an esbuild error message that says where. */
interface Message {
  text: string;
  location: { file: string; line: number; column: number } | null;
}

parentPort?.on('message', (job: BuildJob) => {
  void run(job).then((outcome) => parentPort?.postMessage(outcome));
});

async function run(job: BuildJob): Promise<BuildOutcome> {
  let inputs: string[] = [];
  // Every file the bundle read, from esbuild's metafile: what a change must touch to need this build again.
  const recordInputs: EsbuildPlugin = {
    name: 'record-inputs',
    setup(build) {
      build.onEnd((result) => {
        if (result.metafile) inputs = Object.keys(result.metafile.inputs).map((path) => resolve(path));
      });
    },
  };
  const bundle = serviceBundle(job.service, { silent: true });
  try {
    await build({
      ...bundle,
      esbuildPlugins: [...(bundle.esbuildPlugins ?? []), recordInputs],
      esbuildOptions: (options, context) => {
        bundle.esbuildOptions?.(options, context);
        options.logLevel = 'silent';
      },
    });
    return { id: job.id, ok: true, inputs };
  } catch (error) {
    return { id: job.id, ok: false, errors: describe(error), inputs };
  }
}

/** esbuild's errors as `file:line:column: text`, as editors and terminals link them; anything else by its message. */
function describe(error: unknown): string[] {
  const messages = (error as { errors?: Message[] }).errors;
  if (Array.isArray(messages) && messages.length > 0) {
    return messages.map(({ text, location }) =>
      location === null ? text : `${location.file}:${location.line}:${location.column + 1}: ${text}`,
    );
  }
  return [error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error)];
}
