import { type Field, type FieldType, innerType, type Model } from '../model.js';
import { docComment, emptyModule, header, quote } from './text.js';

/** types.ts: the request and response interfaces, with the definitions' docs and rules carried over. */
export function renderTypes(model: Model): string {
  if (model.services.length === 0) return emptyModule(model.sources);
  const parts = [header(model.sources)];
  for (const enumType of model.enums) {
    const values = enumType.values.map(quote).join(' | ');
    parts.push(`${docComment(enumType.comment, [])}export type ${enumType.name} = ${values};`);
  }
  for (const object of model.objects) {
    const fields = object.fields.map(
      (field) =>
        `${docComment(field.comment, fieldTags(field), '  ')}  ${field.name}${field.optional ? '?' : ''}: ${tsType(field.type)};`,
    );
    // An object without fields admits no keys; `interface X {}` would admit anything but null.
    const declaration =
      fields.length === 0
        ? `export type ${object.name} = Record<string, never>;`
        : `export interface ${object.name} {\n${fields.join('\n')}\n}`;
    parts.push(`${docComment(object.comment, [])}${declaration}`);
  }
  return `${parts.join('\n\n')}\n`;
}

/** The JSDoc tags that stay visible in an editor's hover: the example and the rules. */
export function fieldTags(field: Field): string[] {
  const tags: string[] = [];
  if (field.example !== undefined) tags.push(`@example ${JSON.stringify(field.example)}`);
  if (field.type.kind === 'integer' || innerType(field.type)?.kind === 'integer') tags.push('@integer');
  for (const [rule, value] of Object.entries(field.constraints)) tags.push(`@${rule} ${value}`);
  return tags;
}

/** The TypeScript spelling of a field's type. */
export function tsType(type: FieldType): string {
  switch (type.kind) {
    case 'object':
      return type.objectName;
    case 'enum':
      return type.enumValues === undefined ? type.objectName : type.enumValues.map(quote).join(' | ');
    case 'array': {
      const items = tsType(type.items);
      // An inline union needs parentheses to be an array of it: ('a' | 'b')[].
      return type.items.kind === 'enum' && type.items.enumValues !== undefined ? `(${items})[]` : `${items}[]`;
    }
    case 'map':
      return `Record<string, ${tsType(type.values)}>`;
    case 'integer':
      return 'number';
    default:
      return type.kind;
  }
}
