import {
  ajvRuntime,
  type JsonSchema,
  responseCheckSchema,
  validatorFormats,
  validatorOptions,
} from '@taco-run/rpc/server';
import { Ajv } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import addFormats from 'ajv-formats';
import type { Model } from '../model.js';
import { enumSchema, objectSchema, objectsInDependencyOrder } from './json-schema.js';
import { requiresFromRuntime } from './precompiled.js';
import { emptyModule, header } from './text.js';

/** What validators.js exports for a request object: its validator. */
export function validatorName(objectName: string): string {
  return `validate${objectName}`;
}

/** What validators.js exports for a response object: the check of what a handler returns. */
export function responseCheckName(objectName: string): string {
  return `check${objectName}`;
}

/**
 * validators.js: every request's validator and every response's check,
 * compiled by Ajv ahead of time with the exact options the runtime would
 * compile them with at start-up (validatorOptions), as Ajv's standalone code.
 * A service then compiles no schema when it starts. The code is Ajv's, so it
 * is JavaScript with a declaration file beside it (validators.d.ts).
 */
export function renderValidators(model: Model, runtime: string): { js: string; dts: string } {
  if (model.services.length === 0) return { js: emptyModule(model.sources), dts: emptyModule(model.sources) };
  const schemas = resolvedSchemas(model);
  const ajv = new Ajv({ ...validatorOptions, code: { source: true, esm: true } });
  addFormats.default(ajv, [...validatorFormats]);
  const exports: Record<string, string> = {};
  const docs: [string, string][] = [];
  const methods = model.services.flatMap((service) => service.methods);
  for (const name of new Set(methods.map((method) => method.inputObject))) {
    ajv.addSchema(schemaOf(schemas, name), `request:${name}`);
    exports[validatorName(name)] = `request:${name}`;
    docs.push([
      validatorName(name),
      `The validator of ${name} requests; it also removes the fields ${name} does not declare.`,
    ]);
  }
  for (const name of new Set(methods.map((method) => method.outputObject))) {
    ajv.addSchema(responseCheckSchema(schemaOf(schemas, name)), `response:${name}`);
    exports[responseCheckName(name)] = `response:${name}`;
    docs.push([responseCheckName(name), `The check of the ${name} a handler returns, before it is sent.`]);
  }
  const code = standaloneCode(ajv, exports).replace(/^"use strict";/, '');
  const js = [
    header(model.sources),
    '// The validators Ajv compiles from schemas.ts, as its standalone code.',
    '',
    `import { ajvRuntime } from '${runtime}/server';`,
    '',
    requiresFromRuntime(code, ajvRuntime, 'ajvRuntime', 'Ajv'),
    '',
  ].join('\n');
  const dts = [
    header(model.sources),
    '',
    `import type { Validator } from '${runtime}/server';`,
    '',
    ...docs.flatMap(([name, doc]) => [`/** ${doc} */`, `export declare const ${name}: Validator;`, '']),
  ].join('\n');
  return { js, dts };
}

/** Every type's schema as the runtime builds it in schemas.ts: nested types spread in, with the field's description. */
export function resolvedSchemas(model: Model): Map<string, JsonSchema> {
  const schemas = new Map<string, JsonSchema>();
  for (const enumType of model.enums) schemas.set(enumType.name, enumSchema(enumType) as JsonSchema);
  for (const object of objectsInDependencyOrder(model)) {
    const reference = (name: string, description: string) => {
      const inner = schemaOf(schemas, name);
      return description === '' ? inner : { ...inner, description };
    };
    schemas.set(object.name, objectSchema(object, reference) as JsonSchema);
  }
  return schemas;
}

export function schemaOf(schemas: Map<string, JsonSchema>, name: string): JsonSchema {
  const schema = schemas.get(name);
  if (schema === undefined) throw new Error(`no schema for ${name}`);
  return schema;
}
