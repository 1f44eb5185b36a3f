import type { ValidateFunction } from 'ajv';
import { compileValidator, type JsonSchema } from './validation.js';

/**
 * A request body as an oto Go client means it, read before validation. Go
 * sends a nil slice or map as `null`, and every field without `omitempty` at
 * its zero value (`""`, `0`, `false`, an object of zero values). So:
 * - `null` for a list or map is empty when the field is required, absent when optional;
 * - `null` for an optional object (a nil pointer) is absent;
 * - an optional field at its zero value is absent, but only where keeping it
 *   would break the field's rules: a TypeScript caller's legitimate `0`,
 *   `false` or `""` stays as sent.
 * Anything else is left for validation to judge. A plain pass, not Ajv
 * keywords, so that the validators can be compiled ahead of time.
 */
export function compileGoReading(schema: JsonSchema): (body: unknown) => unknown {
  const read = objectReader(schema);
  return (body) => (read === undefined ? body : read(body));
}

type Reader = (value: unknown) => unknown;

/** The reader of one object's fields, or undefined when none of them can need one (the common case costs nothing). */
function objectReader(schema: JsonSchema): Reader | undefined {
  const properties = schema.properties;
  if (properties === undefined) return undefined;
  const required = new Set(schema.required ?? []);
  const fields = Object.entries(properties).map(([name, field]) => ({
    name,
    schema: field,
    optional: !required.has(name),
    kind: kindOf(field),
    inner: innerReader(field),
    accepts: required.has(name) ? undefined : lazyValidator(field),
  }));
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const body = value as Record<string, unknown>;
    for (const field of fields) {
      const item = body[field.name];
      if (item === undefined) continue;
      if (item === null) {
        if (field.kind === 'array' || field.kind === 'map') {
          if (field.optional) delete body[field.name];
          else body[field.name] = field.kind === 'array' ? [] : {};
        } else if (field.optional) {
          delete body[field.name];
        }
        continue;
      }
      if (field.inner !== undefined) body[field.name] = field.inner(item);
      if (field.accepts !== undefined && isZero(body[field.name], field.schema) && !field.accepts()(body[field.name])) {
        delete body[field.name];
      }
    }
    return body;
  };
}

function kindOf(schema: JsonSchema): 'array' | 'map' | 'object' | 'value' {
  if (schema.type === 'array') return 'array';
  if (schema.type === 'object') return schema.properties === undefined ? 'map' : 'object';
  return 'value';
}

/** What reads the inside of a field: a nested object, or each element of a list or value of a map of objects. */
function innerReader(schema: JsonSchema): Reader | undefined {
  if (schema.type === 'array' && schema.items !== undefined) {
    const element = objectReader(schema.items);
    return element && ((value) => (Array.isArray(value) ? value.map(element) : value));
  }
  if (schema.type === 'object' && schema.properties === undefined && typeof schema.additionalProperties === 'object') {
    const entry = objectReader(schema.additionalProperties);
    return (
      entry &&
      ((value) => {
        if (typeof value !== 'object' || value === null) return value;
        for (const [key, item] of Object.entries(value)) (value as Record<string, unknown>)[key] = entry(item);
        return value;
      })
    );
  }
  return objectReader(schema);
}

/** A field's own validator, compiled the first time a zero value needs judging. */
function lazyValidator(schema: JsonSchema): () => ValidateFunction {
  let validate: ValidateFunction | undefined;
  return () => {
    validate ??= compileValidator(schema);
    return validate;
  };
}

/**
 * Go's zero values: what an unset field of each type is sent as. An object is read only as deep as
 * its schema goes, and only its schema's fields: what a caller nests beyond that is not a zero
 * value (validation refuses it), and is never walked, however deep it goes.
 */
function isZero(value: unknown, schema: JsonSchema): boolean {
  if (value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value !== 'object' || value === null) return false;
  const { properties } = schema;
  // A map's zero value is nil, which arrives as null; an empty one is as good.
  if (properties === undefined) return Object.keys(value).length === 0;
  return Object.entries(value).every(
    ([key, item]) => Object.hasOwn(properties, key) && isZero(item, properties[key] as JsonSchema),
  );
}
