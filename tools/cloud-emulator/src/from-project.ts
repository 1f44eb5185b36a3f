import { join } from 'node:path';
import { serviceAccountEmail } from '@taco-run/project/cloud-run-url';
import { type Project, serviceEnvironment } from '@taco-run/project/services';
import type { CloudServiceOptions } from './cloud.js';

/**
 * The project's services as the emulator runs them, with the IAM that
 * `pnpm deploy:all` would grant: each service admits the services whose
 * `calls` name it and its own `invokers`, and the person running the
 * emulator, who is the project's owner (owners may invoke any service).
 */
export function cloudServices(
  project: Project,
  { projectId, owner, env = {} }: { projectId: string; owner: string; env?: Record<string, Record<string, string>> },
): CloudServiceOptions[] {
  return project.services.map((service) => ({
    name: service.name,
    bundle: join(project.root, service.dir, 'dist/main.js'),
    invokers: [
      ...project.callers(service.name).map((caller) => serviceAccountEmail(caller.name, projectId)),
      // An email stands for its principal; group: and domain: members cannot be told apart here.
      ...service.invokers.flatMap((principal) => /^(?:user|serviceAccount):(.+)$/.exec(principal)?.[1] ?? []),
      owner,
    ],
    public: service.public,
    env: { ...serviceEnvironment(service), ...env[service.name] },
  }));
}
