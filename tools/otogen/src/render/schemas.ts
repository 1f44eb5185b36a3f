import type { Model } from '../model.js';
import { enumSchema, objectSchema, objectsInDependencyOrder } from './json-schema.js';
import { Code, emptyModule, header, literal, spreadKey } from './text.js';

/**
 * schemas.ts: one JSON Schema constant per type. Fastify validates requests
 * with them (Ajv) and serializes responses with them (fast-json-stringify).
 * Nested types are referenced by constant, so each schema is self-contained.
 */
export function renderSchemas(model: Model, runtime: string): string {
  if (model.services.length === 0) return emptyModule(model.sources);
  const reference = (name: string, description: string) =>
    description === '' ? { [spreadKey(schemaName(name))]: true } : { [spreadKey(schemaName(name))]: true, description };
  const parts = [header(model.sources), `import type { JsonSchema } from '${runtime}/server';`];
  for (const enumType of model.enums) {
    parts.push(`${declare(enumType.name)} ${literal(enumSchema(enumType))} as const satisfies JsonSchema;`);
  }
  for (const object of objectsInDependencyOrder(model)) {
    parts.push(
      `${declare(object.name)} ${literal(inlineSpreads(objectSchema(object, reference)))} as const satisfies JsonSchema;`,
    );
  }
  return `${parts.join('\n\n')}\n`;
}

export function schemaName(typeName: string): string {
  return `${typeName}Schema`;
}

function declare(typeName: string): string {
  return `/** The JSON Schema of ${typeName}. */\nexport const ${schemaName(typeName)} =`;
}

/** A reference with nothing beside it is just the constant's name, not `{ ...X }`. */
function inlineSpreads(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(inlineSpreads);
  if (typeof value !== 'object' || value === null || value instanceof Code) return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only?.[0].startsWith('...')) return new Code(only[0].slice(3));
  return Object.fromEntries(entries.map(([key, item]) => [key, inlineSpreads(item)]));
}
