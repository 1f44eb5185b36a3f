import {
  type Constraints,
  type EnumType,
  type Field,
  type FieldType,
  type Model,
  type ObjectType,
  objectsIn,
} from '../model.js';

/**
 * JSON Schema from the model, shared by schemas.ts and openapi.json so both
 * describe the same rules. Only how a named type is referenced differs:
 * a TypeScript identifier in one, a `$ref` in the other.
 */
export type Reference = (name: string, description: string) => Record<string, unknown>;

export function objectSchema(object: ObjectType, reference: Reference): Record<string, unknown> {
  const schema: Record<string, unknown> = { title: object.name };
  if (object.comment !== '') schema.description = object.comment;
  schema.type = 'object';
  const properties: Record<string, unknown> = {};
  for (const field of object.fields) properties[field.name] = fieldSchema(field, reference);
  schema.properties = properties;
  const required = object.fields.filter((field) => !field.optional).map((field) => field.name);
  if (required.length > 0) schema.required = required;
  // Unknown fields are stripped by the validator rather than rejected, as oto ignores them.
  schema.additionalProperties = false;
  return schema;
}

/**
 * Every enum's and object's schema by name, each naming the others as `$ref`s
 * under `base`: `#/components/schemas/` in openapi.json, `#/$defs/` for a
 * schema that carries its definitions.
 */
export function namedSchemas(model: Model, base: string): Record<string, Record<string, unknown>> {
  const reference: Reference = (name, description) => ({
    $ref: `${base}${name}`,
    ...(description === '' ? {} : { description }),
  });
  const schemas: Record<string, Record<string, unknown>> = {};
  for (const enumType of model.enums) schemas[enumType.name] = enumSchema(enumType);
  for (const object of model.objects) schemas[object.name] = objectSchema(object, reference);
  return schemas;
}

export function enumSchema(enumType: EnumType): Record<string, unknown> {
  const schema: Record<string, unknown> = { title: enumType.name };
  if (enumType.comment !== '') schema.description = enumType.comment;
  return { ...schema, type: 'string', enum: enumType.values };
}

function fieldSchema(field: Field, reference: Reference): Record<string, unknown> {
  const { type, constraints } = field;
  if (type.kind === 'object' || (type.kind === 'enum' && type.objectName !== undefined)) {
    return reference(type.objectName, field.comment);
  }
  const schema: Record<string, unknown> = {};
  if (field.comment !== '') schema.description = field.comment;
  Object.assign(schema, typeSchema(type, reference, type.kind === 'array' ? {} : constraints));
  if (type.kind === 'array') {
    schema.items = typeSchema(type.items, reference, elementRules(constraints));
    if (constraints.minItems !== undefined) schema.minItems = constraints.minItems;
    if (constraints.maxItems !== undefined) schema.maxItems = constraints.maxItems;
  }
  if (field.example !== undefined) schema.examples = [field.example];
  return schema;
}

function typeSchema(type: FieldType, reference: Reference, rules: Constraints): Record<string, unknown> {
  switch (type.kind) {
    case 'object':
      return reference(type.objectName, '');
    case 'enum':
      return type.objectName === undefined ? { type: 'string', enum: type.enumValues } : reference(type.objectName, '');
    case 'array':
      return { type: 'array', items: typeSchema(type.items, reference, {}) };
    case 'map':
      return { type: 'object', additionalProperties: typeSchema(type.values, reference, {}) };
    default:
      return { type: type.kind, ...rules };
  }
}

/** Rules written on an array field that describe each element. */
function elementRules({ minItems: _min, maxItems: _max, ...rules }: Constraints): Constraints {
  return rules;
}

/**
 * Objects in an order where each comes after the ones it uses: schemas.ts
 * declares them as constants, which cannot be used before they exist.
 */
export function objectsInDependencyOrder(model: Model): ObjectType[] {
  const byName = new Map(model.objects.map((object) => [object.name, object]));
  const ordered: ObjectType[] = [];
  const placed = new Set<string>();
  const place = (object: ObjectType): void => {
    if (placed.has(object.name)) return;
    placed.add(object.name);
    for (const field of object.fields) {
      for (const name of objectsIn(field.type)) {
        const inner = byName.get(name);
        if (inner !== undefined) place(inner);
      }
    }
    ordered.push(object);
  };
  for (const object of model.objects) place(object);
  return ordered;
}
