import type { FieldType, Model } from '../model.js';

/**
 * A request body built from the definitions' `@example` tags, for the docs'
 * curl lines and OpenAPI examples. Fields without an example are left out,
 * except nested objects, which are built the same way.
 */
export function exampleObject(model: Model, name: string): Record<string, unknown> {
  const object = model.objects.find((candidate) => candidate.name === name);
  const example: Record<string, unknown> = {};
  for (const field of object?.fields ?? []) {
    const value = field.example ?? exampleOf(model, field.type);
    if (value !== undefined) example[field.name] = value;
  }
  return example;
}

function exampleOf(model: Model, type: FieldType): unknown {
  if (type.kind === 'object') return exampleObject(model, type.objectName);
  if (type.kind === 'array' && type.items.kind === 'object') return [exampleObject(model, type.items.objectName)];
  return undefined;
}
