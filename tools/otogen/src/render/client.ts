import { type Field, type Model, type ObjectType, objectsIn, type Service } from '../model.js';
import { objectsInDependencyOrder } from './json-schema.js';
import { docComment, header } from './text.js';

/** client.ts: per service, a client class over the runtime's RpcClient. */
export function renderClient(model: Model, runtime: string): string {
  const types = new Set<string>();
  for (const method of model.services.flatMap((service) => service.methods)) {
    types.add(method.inputObject).add(method.outputObject);
  }
  const parts = [
    header(model.sources),
    [
      `import { type CallOptions, type ClientOptions, RpcClient, type Shape } from '${runtime}/client';`,
      `import type { ${[...types].sort().join(', ')} } from './types.js';`,
    ].join('\n'),
    ...responseShapes(model),
    ...model.services.map(renderService),
  ];
  return `${parts.join('\n\n')}\n`;
}

function renderService(service: Service): string {
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
  readonly #client: RpcClient;

  /**
   * @param baseUrl where the routes live, such as \`http://tacoserver/oto/\`.
   * @param options timeout, headers, retries, a debug hook, or a custom undici Dispatcher.
   */
  constructor(baseUrl: string | URL, options: ClientOptions = {}) {
    this.#client = new RpcClient(baseUrl, options);
  }

${methods.join('\n\n')}
}`;
}

/**
 * The shape of each object a response holds, in dependency order: how the
 * client reads a Go peer's nulls and leaves out fields the definitions do not
 * declare. Small on purpose: kinds and optionality, no rules.
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
  const shapes = objectsInDependencyOrder(model)
    .filter((object) => needed.has(object.name))
    .map(renderShape);
  return shapes.length === 0 ? [] : [`// What each response holds, for reading a peer's answer.\n${shapes.join('\n')}`];
}

function renderShape(object: ObjectType): string {
  const fields = object.fields.map((field) => `${field.name}: ${fieldShape(field)},`);
  return `const ${shapeName(object.name)}: Shape = {${fields.length === 0 ? '' : `\n  ${fields.join('\n  ')}\n`}};`;
}

function fieldShape({ type, optional }: Field): string {
  const inner = type.kind === 'array' ? type.items : type.kind === 'map' ? type.values : type;
  const kind = type.kind === 'array' || type.kind === 'map' ? type.kind : type.kind === 'object' ? 'object' : 'value';
  const nested = inner.kind === 'object' ? `, ${shapeName(inner.objectName)}` : '';
  return `['${kind}', ${optional}${nested}]`;
}

function shapeName(object: string): string {
  return `${object}Shape`;
}
