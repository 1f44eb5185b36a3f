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
    esbuildOptions: (esbuild, context) => {
      // Licence comments go to a file beside each output that has any (shipped with it), not to its end: one
      // letter outside ASCII among them (a maintainer's name) makes Node decode the whole file as UTF-8 instead of
      // Latin-1: without them, tacoserver's image started 3 ms sooner as `node main.js` and 9 ms as its ENTRYPOINT
      // (Node 26, 15 alternated cold starts).
      esbuild.legalComments = 'linked';
      options.esbuildOptions?.(esbuild, context);
    },
    esbuildPlugins: [builtinsWithoutEsmFacade, ...(options.esbuildPlugins ?? [])],
  };
}

/** esbuild's plugin type, as tsup takes it (esbuild itself is tsup's dependency, not the repository's). */
export type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

const builtins = new Set(builtinModules.filter((name) => !name.startsWith('_')));

/**
 * Builtins that cost a cold start most to load (on Node 26, over a `node -e 0`
 * that has node:http: https 16 ms and 4 MB, http2 14 ms and 8 MB, tls 13 ms and
 * 4 MB, crypto 8 ms and 2 MB), which dependencies require() at their top for
 * what only some requests do: Fastify's server module takes node:https for
 * HTTPS servers. Each is handed over as a stand-in that loads it on first use.
 */
const lazyWhenRequired = new Set(['https', 'http2', 'tls', 'crypto']);

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
    build.onResolve({ filter: /^(node:)?[a-z_/\d]+$/ }, ({ path, kind }) => {
      const name = path.replace(/^node:/, '');
      if (!builtins.has(name)) return undefined;
      if (kind === 'import-statement') return { path: name, namespace: 'node-builtin' };
      if (kind === 'require-call' && lazyWhenRequired.has(name)) return { path: name, namespace: 'lazy-builtin' };
      return undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, ({ path }) => ({
      contents: `module.exports = process.getBuiltinModule(${JSON.stringify(`node:${path}`)});\n`,
      loader: 'js',
    }));
    // Every way of reading the module loads it: a property (which is how it is used), `in`, its keys.
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, ({ path }) => ({
      contents: `let loaded;
const load = () => (loaded ??= process.getBuiltinModule(${JSON.stringify(`node:${path}`)}));
module.exports = new Proxy({}, {
  get: (_, key) => load()[key],
  set: (_, key, value) => Reflect.set(load(), key, value),
  has: (_, key) => key in load(),
  ownKeys: () => Reflect.ownKeys(load()),
  getOwnPropertyDescriptor: (_, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
    return descriptor && { ...descriptor, configurable: true };
  },
});
`,
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
