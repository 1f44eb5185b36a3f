import type { Model, Service } from '../model.js';
import { emptyModule, header, lowerFirst } from './text.js';

/**
 * fakes.ts: per service, a fake for the tests of the services that call it. Its own entry
 * (`<package>/fakes`), never index.ts, since it starts a Fastify server: nothing of it reaches
 * a client's bundle.
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
    [
      `import { type Fake, serveFake } from '${runtime}/testing';`,
      `import { ${names.join(', ')} } from './server.js';`,
    ].join('\n'),
    ...model.services.map(renderFake),
  ].join('\n\n')}\n`;
}

function renderFake(service: Service): string {
  return `/**
 * A ${service.name} for a test, in place of the service that serves it: a real server on loopback
 * that answers through the protocol (requests validated, answers checked against the API), with
 * \`methods\` as its handlers; the methods not given answer \`unimplemented\`. Its \`calls\` record
 * what the code under test asked. Hand its origin to routeShortNames, under the callee's short name.
 */
export function fake${service.name}(
  methods: Partial<${service.name}> = {},
  options: { basePath?: string } = {},
): Promise<Fake> {
  return serveFake(${lowerFirst(service.name)}Routes({ ...unimplemented${service.name}(), ...methods }), options);
}`;
}
