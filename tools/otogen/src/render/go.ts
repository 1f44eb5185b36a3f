import type { EnumType, Field, FieldType, Model, ObjectType, Service } from '../model.js';
import { header } from './text.js';

/**
 * definitions.go: the same API as oto definitions, a Go package of
 * interfaces (services) and structs (objects) that oto reads. A Go team runs
 * oto on it and gets a server and a client that speak to ours as they are:
 * every field carries an explicit `json` tag with our wire name, so oto's
 * rule for acronyms (an untagged `SKU` goes on the wire as `sKU`) never
 * renames one. Written as gofmt writes it: one field per section, so no
 * column alignment is needed.
 */
export function renderGo(
  model: Model,
  { title, packageName = 'definitions' }: { title: string; packageName?: string },
): string {
  const enums = new Map(model.enums.map((enumType) => [enumType.name, enumType]));
  const parts = [
    header(model.sources),
    model.services.length === 0
      ? `// Package ${packageName} is empty: the definitions declare no API yet.\npackage ${packageName}`
      : `// Package ${packageName} is the ${title} as oto definitions. Run oto on this package\n// to get a Go server and client that speak to the TypeScript services.\npackage ${packageName}`,
    ...model.services.map(renderService),
    ...model.objects.map((object) => renderObject(object, enums)),
  ];
  return `${parts.join('\n\n')}\n`;
}

function renderService(service: Service): string {
  const methods = service.methods.map(
    (method) =>
      `${goComment(readable(method.comment), '\t')}\t${method.name}(${method.inputObject}) ${method.outputObject}`,
  );
  return `${goComment(readable(service.comment), '')}type ${service.name} interface {\n${methods.join('\n\n')}\n}`;
}

function renderObject(object: ObjectType, enums: ReadonlyMap<string, EnumType>): string {
  const fields = object.fields.map((field) => renderField(field, enums));
  const body = fields.length === 0 ? '{}' : ` {\n${fields.join('\n\n')}\n}`;
  return `${goComment(readable(object.comment), '')}type ${object.name} struct${body}`;
}

function renderField(field: Field, enums: ReadonlyMap<string, EnumType>): string {
  const values = enumValues(field.type, enums);
  const comment = [
    readable(field.comment),
    values === undefined ? '' : `One of ${values.join(', ')}.`,
    // oto's own metadata line: what fills its Field.Example, which its docs and OpenAPI templates show.
    field.example === undefined ? '' : `example: ${JSON.stringify(field.example)}`,
  ]
    .filter((line) => line !== '')
    .join('\n');
  const tag = `json:${goString(field.optional ? `${field.name},omitempty` : field.name)}`;
  const type = goType(field.type, field.optional);
  return `${goComment(comment, '\t')}\t${goName(field.name)} ${type} \`${tag}\``;
}

/**
 * A comment as oto keeps it. oto reads every comment line with ": " in it as `key: <JSON>`
 * metadata, and drops the line when the rest is not JSON (`Name is your name: first and last.`),
 * so here such a colon becomes a dash, and the line stays in the comment.
 */
function readable(comment: string): string {
  return comment.replaceAll(': ', ' - ');
}

/** The Go spelling of a field's type. An optional object is a pointer: omitempty does nothing for a struct value. */
function goType(type: FieldType, optional: boolean): string {
  switch (type.kind) {
    case 'string':
    case 'enum':
      return 'string';
    case 'integer':
      return 'int';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'object':
      return optional ? `*${type.objectName}` : type.objectName;
    case 'array':
      return `[]${goType(type.items, false)}`;
    case 'map':
      return `map[string]${goType(type.values, false)}`;
  }
}

function enumValues(type: FieldType, enums: ReadonlyMap<string, EnumType>): string[] | undefined {
  const inner = type.kind === 'array' ? type.items : type.kind === 'map' ? type.values : type;
  if (inner.kind !== 'enum') return undefined;
  return inner.enumValues ?? enums.get(inner.objectName)?.values;
}

/** The exported Go name of a field: its first letter raised. The json tag keeps the wire name. */
function goName(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** A Go interpreted string literal; JSON's escapes are Go's for everything a definition holds. */
function goString(text: string): string {
  return JSON.stringify(text);
}

function goComment(comment: string, indent: string): string {
  if (comment === '') return '';
  return `${comment
    .split('\n')
    .map((line) => (line === '' ? `${indent}//` : `${indent}// ${line}`))
    .join('\n')}\n`;
}
