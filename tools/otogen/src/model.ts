/**
 * The JSON model that sits between the parser and the renderers. It follows
 * oto's definition JSON (services with methods, objects with fields), so the
 * renderers read one plain structure and never a TypeScript AST.
 */
export interface Model {
  /** The definition files, relative to the working directory, in the order given. */
  sources: string[];
  services: Service[];
  objects: ObjectType[];
  enums: EnumType[];
}

export interface Service {
  name: string;
  comment: string;
  methods: Method[];
}

export interface Method {
  /** PascalCase, as on the wire: `EatTaco`. */
  name: string;
  /** As written in the definition: `eatTaco`. */
  nameLowerCamel: string;
  /** The route's last segment: `TacoService.EatTaco`. */
  wireName: string;
  inputObject: string;
  outputObject: string;
  comment: string;
  /** Tagged `@idempotent`: the client may retry it after it may have reached the server. */
  idempotent: boolean;
}

export interface ObjectType {
  name: string;
  comment: string;
  fields: Field[];
}

export interface Field {
  name: string;
  comment: string;
  type: FieldType;
  /** Declared with `?:`. */
  optional: boolean;
  /** From `@example`, parsed as JSON where it is JSON. */
  example?: unknown;
  constraints: Constraints;
}

/**
 * A field's type. Every kind carries oto's flags; what else it carries
 * depends on the kind, so a renderer that checks the kind needs no guesses.
 */
export type FieldType = TypeFlags &
  (
    | { kind: 'string' | 'number' | 'integer' | 'boolean' }
    /** One of `objects`, by name. */
    | { kind: 'object'; objectName: string }
    /** A named enum (`Spice`), whose values are in `enums`. */
    | { kind: 'enum'; objectName: string; enumValues?: undefined }
    /** An inline union of string literals. */
    | { kind: 'enum'; objectName?: undefined; enumValues: string[] }
    | { kind: 'array'; items: FieldType }
    /** `Record<string, T>`: the values' type. */
    | { kind: 'map'; values: FieldType }
  );

export interface TypeFlags {
  /** The TypeScript spelling: `string[]`, `Record<string, Item>`, `Spice`. */
  typeName: string;
  /** oto's flag for a list: true for arrays. */
  multiple: boolean;
  /** oto's flag: the value, or each element, is one of `objects`. */
  isObject: boolean;
}

export type Kind = FieldType['kind'];

/** The type inside an array (its elements) or a map (its values); nothing for the rest. */
export function innerType(type: FieldType): FieldType | undefined {
  if (type.kind === 'array') return type.items;
  if (type.kind === 'map') return type.values;
  return undefined;
}

/** The objects a field's type names, through its arrays and maps. */
export function objectsIn(type: FieldType): string[] {
  if (type.kind === 'object') return [type.objectName];
  const inner = innerType(type);
  return inner === undefined ? [] : objectsIn(inner);
}

/** Validation rules from JSDoc tags. On an array field, the string and number rules apply to each element. */
export interface Constraints {
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  format?: Format;
}

export const formats = ['email', 'uuid', 'date-time'] as const;
export type Format = (typeof formats)[number];

export interface EnumType {
  name: string;
  comment: string;
  values: string[];
}
