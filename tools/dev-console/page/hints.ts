/** JSON Schema, as otogen writes it for the definitions' objects. */
export type Schema = Record<string, unknown>;

/** A hint about a value the schema would refuse: where (`tacos[0]`) and why. */
export interface Hint {
  path: string;
  message: string;
}

/**
 * What the service's validator would say about `value`, worded for a person
 * typing it: the keywords otogen emits (type, required, properties, items,
 * additionalProperties as a map's values, enum, the length, size and range
 * rules, pattern, format), `$ref`s resolved against `defs`. Hints only: the
 * explorer sends whatever is typed, and the service's answer is the verdict.
 */
export function hints(value: unknown, schema: Schema, defs: Record<string, Schema>, path = ''): Hint[] {
  const resolved = resolve(schema, defs);
  const found: Hint[] = [];
  const say = (message: string) => found.push({ path, message });
  const type = resolved.type;
  if (typeof type === 'string' && !hasType(value, type)) {
    say(`must be ${article(type)} ${type}, not ${describe(value)}`);
    return found;
  }
  if (Array.isArray(resolved.enum) && !resolved.enum.includes(value)) {
    say(`must be one of ${resolved.enum.map((option) => JSON.stringify(option)).join(', ')}`);
  }
  if (typeof value === 'string') {
    const min = resolved.minLength;
    const max = resolved.maxLength;
    const length = [...value].length;
    if (typeof min === 'number' && length < min)
      say(min === 1 ? 'must not be empty' : `must be at least ${min} characters`);
    if (typeof max === 'number' && length > max) say(`must be at most ${max} characters`);
    if (typeof resolved.pattern === 'string' && !new RegExp(resolved.pattern, 'u').test(value)) {
      say(`must match ${resolved.pattern}`);
    }
    if (resolved.format === 'email' && !/^[^\s@]+@[^\s@]+$/.test(value)) say('must be an email address');
    if (resolved.format === 'uuid' && !/^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i.test(value)) {
      say('must be a UUID');
    }
    if (resolved.format === 'date-time' && Number.isNaN(Date.parse(value))) say('must be a date and time (RFC 3339)');
  }
  if (typeof value === 'number') {
    if (typeof resolved.minimum === 'number' && value < resolved.minimum) say(`must be at least ${resolved.minimum}`);
    if (typeof resolved.maximum === 'number' && value > resolved.maximum) say(`must be at most ${resolved.maximum}`);
  }
  if (Array.isArray(value)) {
    const min = resolved.minItems;
    const max = resolved.maxItems;
    if (typeof min === 'number' && value.length < min)
      say(min === 1 ? 'must not be empty' : `must have at least ${min} items`);
    if (typeof max === 'number' && value.length > max) say(`must have at most ${max} items`);
    const items = resolved.items;
    if (isSchema(items)) {
      for (const [index, item] of value.entries()) found.push(...hints(item, items, defs, `${path}[${index}]`));
    }
  }
  if (isObject(value)) {
    const properties = isSchema(resolved.properties) ? (resolved.properties as Record<string, Schema>) : {};
    const required = Array.isArray(resolved.required) ? (resolved.required as string[]) : [];
    for (const name of required) if (!(name in value)) found.push({ path: join(path, name), message: 'is required' });
    for (const [name, item] of Object.entries(value)) {
      const property = properties[name];
      if (property !== undefined) found.push(...hints(item, property, defs, join(path, name)));
      else if (isSchema(resolved.additionalProperties)) {
        found.push(...hints(item, resolved.additionalProperties, defs, `${path}[${JSON.stringify(name)}]`));
      } else if (resolved.additionalProperties === false) {
        found.push({ path: join(path, name), message: 'is not a field of this object; the service ignores it' });
      }
    }
  }
  return found;
}

/** A schema with its `$ref` followed, its description kept. */
export function resolve(schema: Schema, defs: Record<string, Schema>): Schema {
  const reference = schema.$ref;
  if (typeof reference !== 'string') return schema;
  const target = defs[reference.replace('#/$defs/', '')];
  return target === undefined
    ? schema
    : { ...resolve(target, defs), ...(schema.description ? { description: schema.description } : {}) };
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'integer':
      return Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      return true;
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `${article(typeof value)} ${typeof value}`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

function join(path: string, name: string): string {
  return path === '' ? name : `${path}.${name}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isSchema(value: unknown): value is Schema {
  return isObject(value);
}
