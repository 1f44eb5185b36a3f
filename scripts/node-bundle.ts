import { builtinModules } from 'node:module';
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
    // Fastify and friends are CommonJS and require() Node's builtins; an ESM bundle needs a require to give them
    // (taken as builtinsWithoutEsmFacade takes builtins, without an import).
    banner: {
      js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
    },
    clean: true,
    // tsup would strip `node:` and mark builtins external before builtinsWithoutEsmFacade sees them.
    removeNodeProtocol: false,
    ...options,
    esbuildPlugins: [builtinsWithoutEsmFacade, ...(options.esbuildPlugins ?? [])],
  };
}

/** esbuild's plugin type, as tsup takes it (esbuild itself is tsup's dependency, not the repository's). */
export type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/**
 * Node's builtins, imported from ES modules without Node's ES module facade.
 * An `import` of a builtin makes Node build a facade that reads every export,
 * lazy getters included, and some of those load a whole subsystem: on Node
 * 26, `import 'node:http'` loads Node's own undici (for http.WebSocket) and
 * costs about 30 ms, more than a `node -e 0`, and `import 'node:fs'` loads
 * fs/promises and readline. Here such an import becomes a CommonJS module
 * holding `process.getBuiltinModule()`'s answer (Node 20.16 and later), and
 * esbuild turns each named import of it into a property read where it is
 * used, so a getter runs only when the code that needs it does.
 */
const builtinsWithoutEsmFacade: EsbuildPlugin = {
  name: 'builtins-without-esm-facade',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, ({ path, kind }) => {
      const name = path.replace(/^node:/, '');
      if (kind !== 'import-statement' || !builtins.has(name)) return undefined;
      return { path: name, namespace: 'node-builtin' };
    });
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, ({ path }) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${path}`)});\n`,
      loader: 'js',
    }));
  },
};

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
