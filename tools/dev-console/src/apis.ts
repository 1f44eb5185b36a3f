import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleObject } from '@taco-run/otogen/example';
import { namedSchemas } from '@taco-run/otogen/json-schema';
import type { Model } from '@taco-run/otogen/model';
import type { Service } from '@taco-run/project/services';
import type { ApiView, ObjectView } from './views.js';

/**
 * What the API explorer shows: every API of the definitions (otogen's model,
 * packages/generated/model.json), under the services that serve it, with
 * each method's doc comment, an example request and the JSON Schema the
 * page's hints check a request against. Read again on every ask, so a
 * `pnpm dev` that regenerated the definitions shows the new ones.
 */
export function readApis(root: string, modelFile: string, services: readonly Service[]): ApiView[] {
  const model = JSON.parse(readFileSync(join(root, modelFile), 'utf8')) as Model;
  const $defs = namedSchemas(model, '#/$defs/');

  const objectView = (name: string): ObjectView => {
    const object = model.objects.find((candidate) => candidate.name === name);
    return {
      name,
      comment: object?.comment ?? '',
      fields: (object?.fields ?? []).map((field) => ({
        name: field.name,
        comment: field.comment,
        typeName: field.type.typeName,
        optional: field.optional,
      })),
      schema: { ...$defs[name], $defs },
    };
  };

  return model.services.map((api) => ({
    name: api.name,
    comment: api.comment,
    servedBy: services.filter((service) => service.serves.includes(api.name)).map((service) => service.name),
    methods: api.methods.map((method) => {
      const example = exampleObject(model, method.inputObject);
      return {
        name: method.name,
        wireName: method.wireName,
        comment: method.comment,
        idempotent: method.idempotent,
        ...(example === undefined ? {} : { example }),
        request: objectView(method.inputObject),
        response: objectView(method.outputObject),
      };
    }),
  }));
}
