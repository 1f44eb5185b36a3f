import type { Model, Service } from '../model.js';
import { schemaName } from './schemas.js';
import { serializerName } from './serializers.js';
import { docComment, emptyModule, header, lowerFirst } from './text.js';
import { responseCheckName, validatorName } from './validators.js';

/** server.ts: per service, the interface to implement and the Fastify routes that serve it. */
export function renderServer(model: Model, runtime: string): string {
  if (model.services.length === 0) return emptyModule(model.sources);
  const schemas = new Set<string>();
  const types = new Set<string>();
  const validators = new Set<string>();
  const serializers = new Set<string>();
  for (const method of model.services.flatMap((service) => service.methods)) {
    schemas.add(schemaName(method.inputObject)).add(schemaName(method.outputObject));
    types.add(method.inputObject).add(method.outputObject);
    validators.add(validatorName(method.inputObject)).add(responseCheckName(method.outputObject));
    serializers.add(serializerName(method.outputObject));
  }
  const parts = [
    header(model.sources),
    [
      `import type { FastifyInstance } from 'fastify';`,
      `import { RpcError } from '${runtime}';`,
      `import { type RpcContext, type RpcServerOptions, type RpcService, registerRpcServices } from '${runtime}/server';`,
      `import { ${[...schemas].sort().join(', ')} } from './schemas.js';`,
      `import type { ${[...types].sort().join(', ')} } from './types.js';`,
      `import { ${[...serializers].sort().join(', ')} } from './serializers.js';`,
      `import { ${[...validators].sort().join(', ')} } from './validators.js';`,
    ].join('\n'),
    ...model.services.map(renderService),
  ];
  return `${parts.join('\n\n')}\n`;
}

function renderService(service: Service): string {
  const routes = `${lowerFirst(service.name)}Routes`;
  const methods = service.methods.map(
    (method) =>
      `${docComment(method.comment, [], '  ')}  ${method.nameLowerCamel}(request: ${method.inputObject}, context: RpcContext): ${method.outputObject} | Promise<${method.outputObject}>;`,
  );
  const descriptors = service.methods.map((method) =>
    [
      '      {',
      `        name: '${method.name}',`,
      `        request: ${schemaName(method.inputObject)},`,
      `        response: ${schemaName(method.outputObject)},`,
      `        validate: ${validatorName(method.inputObject)},`,
      `        checkResponse: ${responseCheckName(method.outputObject)},`,
      `        serialize: ${serializerName(method.outputObject)},`,
      `        handler: (request: ${method.inputObject}, context: RpcContext) => impl.${method.nameLowerCamel}(request, context),`,
      '      },',
    ].join('\n'),
  );
  return [
    `${docComment(service.comment, [])}export interface ${service.name} {\n${methods.join('\n\n')}\n}`,
    `/** The routes of ${service.name}, answered by \`impl\`; pass them to registerRpcServices to mount several services together. */
export function ${routes}(impl: ${service.name}): RpcService {
  return {
    name: '${service.name}',
    methods: [
${descriptors.join('\n')}
    ],
  };
}`,
    `/**
 * A ${service.name} whose every method answers \`unimplemented\` (501): spread your
 * methods over it, and the service builds and serves while the others are to come.
 */
export function unimplemented${service.name}(): ${service.name} {
  return {
${service.methods
  .map(
    (method) =>
      `    ${method.nameLowerCamel}: () => {\n      throw new RpcError('unimplemented', '${service.name}.${method.name} is not implemented yet');\n    },`,
  )
  .join('\n')}
  };
}`,
    `/**
 * Mounts ${service.name} on \`app\`: one \`POST {basePath}${service.name}.<Method>\` route
 * per method, under \`/oto/\` unless options.basePath says otherwise.
 */
export function register${service.name}(app: FastifyInstance, impl: ${service.name}, options?: RpcServerOptions): FastifyInstance {
  return registerRpcServices(app, [${routes}(impl)], options);
}`,
  ].join('\n\n');
}
