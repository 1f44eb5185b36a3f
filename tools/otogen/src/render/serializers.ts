import { serializerRuntime } from '@taco-run/rpc/server';
import fastJson from 'fast-json-stringify';
import type { Model } from '../model.js';
import { header } from './text.js';
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
  const schemas = resolvedSchemas(model);
  const names = [...new Set(model.services.flatMap((service) => service.methods.map((method) => method.outputObject)))];
  const serializers = names.map((name) => {
    const code = fastJson(schemaOf(schemas, name), { mode: 'standalone' }) as unknown as string;
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
  const body = code.replace(/^\s*'use strict'\s*$/m, '').replace(/require\('([^']+)'\)/g, (_call, module: string) => {
    if (!Object.hasOwn(serializerRuntime, module)) {
      throw new Error(
        `fast-json-stringify's precompiled code needs "${module}", which serializerRuntime does not provide`,
      );
    }
    return `serializerRuntime[${JSON.stringify(module)}]`;
  });
  if (!/^\s*module\.exports = /m.test(body))
    throw new Error("fast-json-stringify's standalone code has no module.exports");
  return body.replace(/^(\s*)module\.exports = /m, '$1return ');
}
