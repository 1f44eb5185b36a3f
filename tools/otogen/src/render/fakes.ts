import type { Model, Service } from '../model.js';
import { emptyModule, header, lowerFirst } from './text.js';

/**
 * fakes.ts: per API, a fake of it for the tests of the services that call it, which
 * `serveFake` from the runtime's testing entry serves. Its own entry (`<package>/fakes`), so that
 * nothing only a test needs reaches a client's bundle.
 */
export function renderFakes(model: Model, runtime: string): string {
  if (model.services.length === 0) return emptyModule(model.sources);
  // Biome, which formats what otogen writes, puts the names in its order.
  const names = model.services.flatMap((service) => [
    `type ${service.name}`,
    `${lowerFirst(service.name)}Routes`,
    `unimplemented${service.name}`,
  ]);
  return `${[
    header(model.sources),
    [`import type { RpcService } from '${runtime}/server';`, `import { ${names.join(', ')} } from './server.js';`].join(
      '\n',
    ),
    ...model.services.map(renderFake),
  ].join('\n\n')}\n`;
}

function renderFake(service: Service): string {
  return `/**
 * A ${service.name} for a test, in place of the service that serves it, with \`methods\` as its
 * handlers; the methods not given answer \`unimplemented\`. Serve it with \`serveFake\` from
 * \`@taco-run/rpc/testing\`, beside the other APIs of the same callee, and send the callee's short
 * name to it with \`routeShortNames\`.
 */
export function fake${service.name}(methods: Partial<${service.name}> = {}): RpcService {
  return ${lowerFirst(service.name)}Routes({ ...unimplemented${service.name}(), ...methods });
}`;
}
