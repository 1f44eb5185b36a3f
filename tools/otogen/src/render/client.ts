import { type EnumType, type Field, type Model, type ObjectType, objectsIn, type Service } from '../model.js';
import { objectsInDependencyOrder } from './json-schema.js';
import { docComment, emptyModule, header } from './text.js';

/** Where a generated client runs: Node, over undici, or anywhere `fetch` is, as `web.ts`. */
export type ClientFlavour = 'node' | 'web';

const flavours = {
  node: {
    runtimeEntry: 'client',
    core: 'RpcClient',
    options: 'ClientOptions',
    optionsDoc: 'timeout, headers, retries, a debug hook, or a custom undici Dispatcher.',
  },
  web: {
    runtimeEntry: 'web',
    core: 'WebRpcClient',
    options: 'WebClientOptions',
    optionsDoc:
      "timeout, headers, retries, a debug hook, a `fetch` of your own, or `credentials` for another origin's cookies.",
  },
} as const;

/**
 * client.ts (Node) or web.ts: per service, a client class over the
 * runtime's client of that flavour. Both have the same methods and types;
 * only the import differs, so code moves between them unchanged.
 */
export function renderClient(model: Model, runtime: string, flavour: ClientFlavour = 'node'): string {
  const { runtimeEntry, core, options } = flavours[flavour];
  // A web app imports nothing else of ours: the error it catches comes from here. (index.ts has it for Node.)
  const errors = flavour === 'web' ? [`export { type Code, isRpcError, RpcError } from '${runtime}/web';`] : [];
  if (model.services.length === 0) {
    return errors.length === 0 ? emptyModule(model.sources) : `${[header(model.sources), ...errors].join('\n\n')}\n`;
  }
  const methods = model.services.flatMap((service) => service.methods);
  const types = new Set(methods.flatMap((method) => [method.inputObject, method.outputObject]));
  const shapes = [...new Set(methods.map((method) => method.outputObject))];
  const parts = [
    header(model.sources),
    [
      `import { type CallOptions, type ${options}, ${core} } from '${runtime}/${runtimeEntry}';`,
      shapes.length === 0 ? '' : `import { ${shapes.sort().map(shapeName).join(', ')} } from './shapes.js';`,
      `import type { ${[...types].sort().join(', ')} } from './types.js';`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
    ...errors,
    ...model.services.map((service) => renderService(service, flavour)),
  ];
  return `${parts.join('\n\n')}\n`;
}

/** shapes.ts: what each response holds, shared by the Node and the web client. */
export function renderShapes(model: Model, runtime: string): string {
  if (model.services.length === 0) return emptyModule(model.sources);
  return `${[header(model.sources), `import type { Shape } from '${runtime}/protocol';`, ...responseShapes(model)].join('\n\n')}\n`;
}

function renderService(service: Service, flavour: ClientFlavour): string {
  const { core, options, optionsDoc } = flavours[flavour];
  const comment = [`${service.name}Client calls ${service.name} over HTTP.`, service.comment]
    .filter((line) => line !== '')
    .join('\n\n');
  const methods = service.methods.map((method) => {
    const extra = `, { ${method.idempotent ? 'idempotent: true, ' : ''}response: ${shapeName(method.outputObject)} }`;
    const tags = method.idempotent ? ['Idempotent: retried on unavailable and on connection errors.'] : [];
    return `${docComment(method.comment, tags, '  ')}  ${method.nameLowerCamel}(request: ${method.inputObject}, options?: CallOptions): Promise<${method.outputObject}> {
    return this.#client.call('${method.wireName}', request, options${extra});
  }`;
  });
  return `${docComment(comment, [])}export class ${service.name}Client {
  readonly #client: ${core};

  /**
   * @param baseUrl where the routes live, such as \`http://tacoserver/oto/\`.
   * @param options ${optionsDoc}
   */
  constructor(baseUrl: string | URL, options: ${options} = {}) {
    this.#client = new ${core}(baseUrl, options);
  }

${methods.join('\n\n')}
}`;
}

/**
 * The shape of each object a response holds, in dependency order: how the
 * client reads a Go peer's nulls and leaves out fields the definitions do not
 * declare. Small on purpose: kinds and optionality, and of the rules only
 * whether an optional value's Go zero value breaks them.
 */
function responseShapes(model: Model): string[] {
  const byName = new Map(model.objects.map((object) => [object.name, object]));
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    needed.add(name);
    for (const field of byName.get(name)?.fields ?? []) for (const inner of objectsIn(field.type)) visit(inner);
  };
  for (const method of model.services.flatMap((service) => service.methods)) visit(method.outputObject);
  const enums = new Map(model.enums.map((enumType) => [enumType.name, enumType]));
  const shapes = objectsInDependencyOrder(model)
    .filter((object) => needed.has(object.name))
    .map((object) => renderShape(object, enums));
  return shapes.length === 0
    ? []
    : [`// What each response holds, for reading a peer's answer.\n${shapes.join('\n\n')}`];
}

function renderShape(object: ObjectType, enums: ReadonlyMap<string, EnumType>): string {
  const fields = object.fields.map((field) => `${field.name}: ${fieldShape(field, enums)},`);
  return `export const ${shapeName(object.name)}: Shape = {${fields.length === 0 ? '' : `\n  ${fields.join('\n  ')}\n`}};`;
}

function fieldShape(field: Field, enums: ReadonlyMap<string, EnumType>): string {
  const { type, optional } = field;
  const inner = type.kind === 'array' ? type.items : type.kind === 'map' ? type.values : type;
  const kind = type.kind === 'array' || type.kind === 'map' ? type.kind : type.kind === 'object' ? 'object' : 'value';
  const nested = inner.kind === 'object' ? `, ${shapeName(inner.objectName)}` : '';
  const absent = optional && zeroBreaksRules(field, enums) ? "'or-zero'" : String(optional);
  return `['${kind}', ${absent}${nested}]`;
}

/**
 * Whether a value field's Go zero value (`""`, `0`) breaks its rules, as the server's reading of
 * an oto client decides it with the field's schema: an enum without `""`, a minimum length, a
 * pattern or format that `""` fails, a range without 0.
 */
function zeroBreaksRules({ type, constraints }: Field, enums: ReadonlyMap<string, EnumType>): boolean {
  switch (type.kind) {
    case 'enum':
      return !(type.enumValues ?? enums.get(type.objectName)?.values ?? []).includes('');
    case 'string':
      return (
        (constraints.minLength ?? 0) > 0 ||
        constraints.format !== undefined ||
        (constraints.pattern !== undefined && !new RegExp(constraints.pattern, 'u').test(''))
      );
    case 'number':
    case 'integer':
      return (constraints.minimum ?? 0) > 0 || (constraints.maximum ?? 0) < 0;
    default:
      return false;
  }
}

function shapeName(object: string): string {
  return `${object}Shape`;
}
