import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { ErrorDetail } from '../error.js';

/** The JSON Schema subset the generator emits. */
export interface JsonSchema {
  title?: string;
  description?: string;
  type?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  required?: readonly string[];
  [keyword: string]: unknown;
}

/**
 * How requests are validated. Fastify's default Ajv coerces types
 * (`{"name": 5}` would pass as "5"), which a typed RPC must not do: these
 * options reject wrong types, strip unknown fields (the schemas say
 * `additionalProperties: false`) and report every failure. otogen compiles
 * the generated schemas ahead of time with exactly these (validators.js), so
 * a service compiles nothing at start-up; the compiler here serves whatever
 * comes without precompiled code.
 */
export const validatorOptions = {
  allErrors: true,
  removeAdditional: true,
  coerceTypes: false,
  useDefaults: false,
  strict: true,
} as const;

/** The `format`s the generator emits, from ajv-formats. */
export const validatorFormats = ['email', 'uuid', 'date-time'] as const;

let shared: Ajv | undefined;

function ajv(): Ajv {
  if (shared === undefined) {
    shared = new Ajv(validatorOptions);
    addFormats.default(shared, [...validatorFormats]);
  }
  return shared;
}

export function compileValidator(schema: JsonSchema): ValidateFunction {
  return ajv().compile(schema);
}

/**
 * A check of what a handler returns against its response schema, before it is
 * serialized: the serializer would turn -5.5 into -5 for an integer and pass
 * a value outside an enum as it is, breaking the types the client promises.
 * It changes nothing: undeclared fields are the serializer's to drop, so the
 * schema it checks against allows them, and with no `additionalProperties:
 * false` left, the validator's stripping has nothing to strip.
 */
export function compileResponseValidator(schema: JsonSchema): ValidateFunction {
  return compileValidator(responseCheckSchema(schema));
}

/** A response schema as the response check reads it: undeclared fields allowed at every depth. */
export function responseCheckSchema(schema: JsonSchema): JsonSchema {
  return allowingUndeclared(schema) as JsonSchema;
}

function allowingUndeclared(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(allowingUndeclared);
  if (typeof schema !== 'object' || schema === null) return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'additionalProperties' && value === false))
      .map(([key, value]) => [key, allowingUndeclared(value)]),
  );
}

/** Keeps error bodies small when a huge array fails everywhere. */
const maxDetails = 20;

/**
 * Turns Ajv's errors into the wire's details and one human message in oto's
 * style: `EatTacoRequest.Name is required`, naming the type that holds the field.
 */
export function describeValidationErrors(
  errors: readonly ErrorObject[],
  root: JsonSchema,
): { message: string; details: ErrorDetail[] } {
  const details = errors.slice(0, maxDetails).map((error) => describe(error, root));
  const first = details[0];
  const message = first === undefined ? 'invalid request' : first.message;
  return { message, details };
}

function describe(error: ErrorObject, root: JsonSchema): ErrorDetail & { message: string } {
  const segments = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map(unescapePointer);
  let field: string | undefined;
  let failure: string;
  if (error.keyword === 'required') {
    field = String((error.params as { missingProperty: string }).missingProperty);
    segments.push(field);
    failure = 'is required';
  } else if (isEmptinessRule(error)) {
    failure = 'is required';
  } else if (error.keyword === 'enum') {
    // Ajv says only "must be equal to one of the allowed values"; the caller wants to know which.
    const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
    failure = `must be one of ${allowed.map((value) => JSON.stringify(value)).join(', ')}`;
  } else {
    failure = error.message ?? 'is invalid';
  }
  const { owner, name } = locate(root, segments);
  const subject = name === undefined ? owner : `${owner}.${capitalize(name)}`;
  return { path: toPath(segments), message: `${subject} ${failure}` };
}

/** `@minLength 1` and `@minItems 1` are how a definition says "must not be empty". */
function isEmptinessRule(error: ErrorObject): boolean {
  const limit = (error.params as { limit?: unknown }).limit;
  return (error.keyword === 'minLength' || error.keyword === 'minItems') && limit === 1;
}

/** Walks the schema along the path to find the named type that holds the failing value. */
function locate(root: JsonSchema, segments: readonly string[]): { owner: string; name: string | undefined } {
  let schema: JsonSchema | undefined = root;
  let owner = root.title ?? 'request';
  let name: string | undefined;
  for (const segment of segments) {
    if (schema === undefined) break;
    if (schema.type === 'array') {
      schema = schema.items;
      name = name === undefined ? `[${segment}]` : `${name}[${segment}]`;
      continue;
    }
    if (schema.title !== undefined) {
      owner = schema.title;
      name = undefined;
    }
    const property: JsonSchema | undefined = schema.properties?.[segment];
    const additional = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    if (property === undefined && additional !== undefined) {
      name = name === undefined ? `[${JSON.stringify(segment)}]` : `${name}[${JSON.stringify(segment)}]`;
      schema = additional;
    } else {
      name = segment;
      schema = property;
    }
  }
  return { owner, name };
}

function toPath(segments: readonly string[]): string {
  let path = '';
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) path += `[${segment}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(segment)) path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}

function unescapePointer(segment: string): string {
  return segment.replaceAll('~1', '/').replaceAll('~0', '~');
}

function capitalize(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
