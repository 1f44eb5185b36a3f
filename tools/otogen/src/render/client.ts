import type { Model, Service } from '../model.js';
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
      `import { type CallOptions, type ClientOptions, RpcClient } from '${runtime}/client';`,
      `import type { ${[...types].sort().join(', ')} } from './types.js';`,
    ].join('\n'),
    ...model.services.map(renderService),
  ];
  return `${parts.join('\n\n')}\n`;
}

function renderService(service: Service): string {
  const comment = [`${service.name}Client calls ${service.name} over HTTP.`, service.comment]
    .filter((line) => line !== '')
    .join('\n\n');
  const methods = service.methods.map((method) => {
    const extra = method.idempotent ? ', { idempotent: true }' : '';
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
