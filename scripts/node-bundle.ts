import type { Options } from 'tsup';

/**
 * How this repository bundles anything that runs with plain `node`: one ESM
 * file per entry with every dependency inside, for Node 20. The services,
 * runsd, the emulator, the deploy command, the bench and the soak's app all
 * start from this and add only what differs.
 */
export function nodeBundle(options: Options): Options {
  return {
    format: 'esm',
    platform: 'node',
    target: 'node20',
    noExternal: [/.*/],
    // Fastify and friends are CommonJS and require() Node's builtins; an ESM bundle needs a require to give them.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
    },
    clean: true,
    ...options,
  };
}

/**
 * tsup quiet but for one line per build, `tacoserver built in 412 ms`, in
 * place of its chunk tables, and nothing at all under tsup's `--silent`
 * (`flags`, what tsup hands a config function). A failed build still prints
 * esbuild's errors, each at file:line.
 */
export function oneLineReport(name: string, flags: Options = {}): Pick<Options, 'silent' | 'onSuccess'> {
  const started = performance.now();
  if (flags.silent) return { silent: true };
  return {
    silent: true,
    onSuccess: async () => {
      process.stdout.write(`${name} built in ${Math.round(performance.now() - started)} ms\n`);
    },
  };
}
