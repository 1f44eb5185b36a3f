import { createRequire } from 'node:module';
import { serializerRuntime } from '@taco-run/rpc/server';
import type { Model } from '../model.js';
import { requiresFromRuntime } from './precompiled.js';
import { emptyModule, header } from './text.js';
import { resolvedSchemas, schemaOf } from './validators.js';

/** What serializers.js exports for a response object. */
export function serializerName(objectName: string): string {
  return `serialize${objectName}`;
}

/**
 * serializers.js: every response's serializer, compiled by fast-json-stringify
 * ahead of time with Fastify's default options, as its standalone code, so a
 * service compiles none at start-up. Each serializer's code is a module of its
 * own in fast-json-stringify's output; here each becomes a function scope,
 * so that their names do not meet.
 */
export function renderSerializers(model: Model, runtime: string): { js: string; dts: string } {
  if (model.services.length === 0) return { js: emptyModule(model.sources), dts: emptyModule(model.sources) };
  const schemas = resolvedSchemas(model);
  const names = [...new Set(model.services.flatMap((service) => service.methods.map((method) => method.outputObject)))];
  const serializers = names.map((name) => {
    const code = fastJsonForTheImage()(schemaOf(schemas, name), { mode: 'standalone' });
    return `/** The serializer of ${name}: JSON with only the fields its schema declares. */\nexport const ${serializerName(name)} = (() => {\n${asFunctionBody(code)}\n})();`;
  });
  const js = [
    header(model.sources),
    '// The serializers fast-json-stringify compiles from schemas.ts, as its standalone code.',
    '',
    `import { serializerRuntime } from '${runtime}/server';`,
    '',
    serializers.join('\n\n'),
    '',
  ].join('\n');
  const dts = [
    header(model.sources),
    '',
    ...names.flatMap((name) => [
      `/** The serializer of ${name}: JSON with only the fields its schema declares. */`,
      `export declare const ${serializerName(name)}: (response: unknown) => string;`,
      '',
    ]),
  ].join('\n');
  return { js, dts };
}

/** A standalone module's code as the body of a function that returns what the module exports. */
function asFunctionBody(code: string): string {
  const body = requiresFromRuntime(
    code.replace(/^\s*'use strict'\s*$/m, ''),
    serializerRuntime,
    'serializerRuntime',
    'fast-json-stringify',
  );
  if (!/^\s*module\.exports = /m.test(body))
    throw new Error("fast-json-stringify's standalone code has no module.exports");
  return body.replace(/^(\s*)module\.exports = /m, '$1return ');
}

/** The Node major the serializers are written for: the image's (deploy/Dockerfile's FROM; a test keeps the two equal). */
export const imageNodeMajor = 26;

type FastJson = (schema: unknown, options: { mode: 'standalone' }) => string;
let forTheImage: FastJson | undefined;

/**
 * fast-json-stringify tunes the code it writes to the Node major it runs on
 * (its array fast paths start at 8 elements on Node 22 and later, at 128 on
 * Node 20), so otogen on Node 20 and on Node 26 would write different files.
 * The serializers are written for the image's Node whatever Node runs
 * otogen: the library is loaded afresh with that major in
 * `process.versions.node`, which is put back at once. On another Node the
 * code is only tuned differently, not wrong.
 */
function fastJsonForTheImage(): FastJson {
  if (forTheImage !== undefined) return forTheImage;
  const require = createRequire(import.meta.url);
  const path = require.resolve('fast-json-stringify');
  const cached = require.cache[path];
  const node = Object.getOwnPropertyDescriptor(process.versions, 'node');
  if (node === undefined) throw new Error('process.versions.node is missing');
  delete require.cache[path];
  Object.defineProperty(process.versions, 'node', { ...node, value: `${imageNodeMajor}.0.0` });
  try {
    forTheImage = require(path) as FastJson;
  } finally {
    Object.defineProperty(process.versions, 'node', node);
    if (cached === undefined) delete require.cache[path];
    else require.cache[path] = cached;
  }
  return forTheImage;
}
