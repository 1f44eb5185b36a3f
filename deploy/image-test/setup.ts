import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Cloud, cloudServices, startCloud } from '@taco-run/cloud-emulator';
import { findPostgres, startPostgres, type TestPostgres } from '@taco-run/database/testing';
import { freePort } from '@taco-run/project/process';
import { loadProject, type Service } from '@taco-run/project/services';
import type { TestProject } from 'vitest/node';
import { migrationJob } from '../image-command.mjs';
import { deployedEnvironment } from '../src/plan.js';
import { hashPlaceholder } from '../src/step.js';
import {
  type BuiltImage,
  buildImage,
  type Container,
  type ContainerHost,
  containerHost,
  runJob,
  startContainer,
} from './podman.js';

// pnpm test:image: every service of the project built from deploy/Dockerfile as Cloud Build builds it,
// then the whole project started from those images behind the emulator's front door and metadata
// servers, as Cloud Run runs it. The test files check each image and what the project answers.

const root = fileURLToPath(new URL('../../', import.meta.url));
export const projectId = 'taco-image-test';
export const projectHash = 'imgtest7k2';

export interface ImageTestContext {
  /** Why nothing runs: this machine has no container engine. */
  missing?: string;
  host?: ContainerHost;
  images: Record<string, BuiltImage>;
  /** Each service's own database, migrated, for those that declare one. */
  databases: Record<string, string>;
  /** The PostgreSQL server those are on (its `postgres` database), when a service has one. */
  postgres?: string;
  /** Each service behind the front door: where to call it, and a token of the project's owner for it. */
  frontDoor: Record<string, { url: string; token: string; public: boolean }>;
}

declare module 'vitest' {
  export interface ProvidedContext {
    images: ImageTestContext;
  }
}

/**
 * The environment a deploy gives a service (`pnpm deploy:all --dry-run`'s
 * --set-env-vars), with the cloud hash filled in, a stand-in value for each
 * secret, and its database: what its container gets besides Cloud Run's own.
 */
export function plannedEnvironment(service: Service, databases: Record<string, string>): Record<string, string> {
  const planned = deployedEnvironment(service, projectId);
  if (planned.CLOUD_RUN_PROJECT_HASH === hashPlaceholder) planned.CLOUD_RUN_PROJECT_HASH = projectHash;
  const secrets = Object.fromEntries(Object.keys(service.secrets).map((name) => [name, `image-test-${name}`]));
  const database = databases[service.name];
  return { ...planned, ...secrets, ...(database === undefined ? {} : { DATABASE_URL: database }) };
}

export default async function setup(vitest: TestProject) {
  const context: ImageTestContext = { images: {}, databases: {}, frontDoor: {} };
  const host = await containerHost(root);
  if ('missing' in host) {
    // CI installs podman: there, a machine that cannot run containers is a failure, not a skip.
    if (process.env.CI === 'true') throw new Error(`test:image: ${host.missing}`);
    process.stderr.write(`test:image: skipped: ${host.missing}\n`);
    vitest.provide('images', { ...context, missing: host.missing });
    return;
  }
  context.host = host;
  const project = loadProject(root);
  const { services } = project;
  const logs = join(root, 'deploy/image-test/logs');
  await mkdir(logs, { recursive: true });
  // One at a time: two at once took longer here (207 s for both against 180 s in turn, on 2 vCPUs with vfs).
  for (const service of services) {
    process.stderr.write(`test:image: building ${service.name} (log: deploy/image-test/logs/${service.name}.log)\n`);
    const built = await buildImage(host, root, service.name, join(logs, `${service.name}.log`));
    context.images[service.name] = built;
    process.stderr.write(
      `test:image: built ${built.tag} in ${built.seconds.toFixed(1)} s, ${(built.bytes / 1e6).toFixed(0)} MB, on the ${host.base} base image\n`,
    );
  }

  const stops: (() => Promise<unknown>)[] = [];
  const teardown = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    const withDatabase = services.filter((service) => service.database !== undefined);
    if (withDatabase.length > 0) {
      const found = findPostgres();
      if ('missing' in found) throw new Error(`test:image: ${withDatabase[0]?.name} has a database: ${found.missing}`);
      const server: TestPostgres = await startPostgres(found.bin);
      stops.push(() => server.stop());
      context.postgres = server.url;
      for (const service of withDatabase) {
        const url = await server.createDatabase(service.name.replaceAll('-', '_'));
        const image = context.images[service.name] as BuiltImage;
        // Migrated by the service's migration job, from its image, as the deploy does before a revision serves.
        const job = await runJob(host, image.tag, migrationJob, { DATABASE_URL: url });
        if (job.code !== 0)
          throw new Error(`${service.name}'s migration job exited with ${job.code}:\n${job.stdout}${job.stderr}`);
        context.databases[service.name] = url;
      }
    }

    const owner = 'owner@example.com';
    const containers: Container[] = [];
    stops.push(async () => Promise.all(containers.map((container) => container.remove())));
    const cloud: Cloud = await startCloud({
      projectId,
      projectHash,
      user: owner,
      services: cloudServices(project, {
        projectId,
        owner,
        env: Object.fromEntries(
          services.map((service) => [service.name, plannedEnvironment(service, context.databases)]),
        ),
      }),
      launch: async (service, env) => {
        const image = context.images[service.name];
        if (image === undefined) throw new Error(`no image for ${service.name}`);
        const container = await startContainer(
          host,
          image.tag,
          { ...env, PORT: String(await freePort()) },
          { label: service.name },
        );
        containers.push(container);
        return container;
      },
    });
    stops.push(() => cloud.close());
    for (const service of services) {
      context.frontDoor[service.name] = {
        url: cloud.service(service.name).localUrl,
        token: await cloud.userToken(service.name),
        public: service.public,
      };
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  vitest.provide('images', context);
  return teardown;
}
