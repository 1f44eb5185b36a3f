import type { Constraints, Field, FieldType, Model } from '../model.js';

/**
 * A request body that passes its own schema, for the docs' curl lines, the
 * OpenAPI examples and the scaffolded tests. A field's `@example` is used as
 * written; a required field without one gets the plainest value its type and
 * rules allow; an optional field without one is left out, unless it is an
 * object, whose own fields show the body's shape. Undefined when no
 * valid body can be made up: a required `@pattern` field needs an `@example`,
 * since no value can be guessed for a pattern.
 */
export function exampleObject(model: Model, name: string): Record<string, unknown> | undefined {
  return objectExample(model, name, new Set());
}

function objectExample(model: Model, name: string, open: Set<string>): Record<string, unknown> | undefined {
  const object = model.objects.find((candidate) => candidate.name === name);
  // An object that needs itself has no finite example.
  if (object === undefined || open.has(name)) return undefined;
  open.add(name);
  const example: Record<string, unknown> = {};
  for (const field of object.fields) {
    const value = fieldExample(model, field, open);
    if (value !== undefined) example[field.name] = value;
    else if (!field.optional) {
      open.delete(name);
      return undefined;
    }
  }
  open.delete(name);
  return example;
}

function fieldExample(model: Model, field: Field, open: Set<string>): unknown {
  if (field.example !== undefined) return field.example;
  if (field.optional)
    return field.type.kind === 'object' ? objectExample(model, field.type.objectName, open) : undefined;
  return plainValue(model, field.type, field.constraints, open);
}

function plainValue(model: Model, type: FieldType, rules: Constraints, open: Set<string>): unknown {
  switch (type.kind) {
    case 'object':
      return objectExample(model, type.objectName, open);
    case 'enum':
      return (type.enumValues ?? model.enums.find((candidate) => candidate.name === type.objectName)?.values)?.[0];
    case 'array': {
      const { minItems = 0, maxItems: _, ...itemRules } = rules;
      if (minItems === 0) return [];
      const item = plainValue(model, type.items, itemRules, open);
      return item === undefined ? undefined : Array.from({ length: minItems }, () => item);
    }
    case 'map':
      return {};
    case 'boolean':
      return false;
    case 'number':
    case 'integer':
      return numberWithin(rules, type.kind === 'integer');
    case 'string':
      return stringWithin(rules);
  }
}

function numberWithin({ minimum, maximum }: Constraints, integer: boolean): number {
  let value = Math.max(0, minimum ?? 0);
  if (maximum !== undefined && value > maximum) value = minimum ?? maximum;
  return integer ? Math.ceil(value) : value;
}

const formatExamples = {
  email: 'user@example.com',
  uuid: '123e4567-e89b-12d3-a456-426614174000',
  'date-time': '2026-01-01T00:00:00Z',
} as const;

function stringWithin({ minLength = 0, maxLength, pattern, format }: Constraints): string | undefined {
  if (format !== undefined) return formatExamples[format];
  if (pattern !== undefined) return undefined;
  const text = 'string'.padEnd(minLength, 'x');
  return maxLength === undefined ? text : text.slice(0, maxLength);
}

/**
 * A call to try a service with, as the "Try it" lines of `pnpm dev:cloud` and `pnpm deploy:all`
 * print it: the first method of the first of `apis` the model declares, with an example body
 * its schema accepts (a placeholder where none can be made). Undefined when none is declared.
 */
export function exampleCall(model: Model, apis: readonly string[]): { method: string; body: string } | undefined {
  for (const name of apis) {
    const method = model.services.find((service) => service.name === name)?.methods[0];
    if (method === undefined) continue;
    const example = exampleObject(model, method.inputObject);
    return {
      method: method.wireName,
      body: example === undefined ? `<${method.inputObject} as JSON>` : JSON.stringify(example),
    };
  }
  return undefined;
}
