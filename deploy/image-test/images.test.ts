import { fileURLToPath } from 'node:url';
import { startMetadataServer } from '@taco-run/cloud-emulator';
import { freePort, heldBody } from '@taco-run/project/process';
import { loadProject } from '@taco-run/project/services';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ContainerHost, processUid, startContainer } from './podman.js';
import { plannedEnvironment, projectId } from './setup.js';

// Each service's image, run alone as Cloud Run runs a revision: PORT, K_SERVICE, K_REVISION and
// K_CONFIGURATION set, the planned --set-env-vars, and a metadata server (the emulator's) for its tokens.

const root = fileURLToPath(new URL('../../', import.meta.url));
const context = inject('images');
const services = loadProject(root).services;

describe.skipIf(context.missing !== undefined)('each service image, run as Cloud Run runs it', () => {
  for (const service of services) {
    describe(service.name, () => {
      const host = context.host as ContainerHost;
      let container: Awaited<ReturnType<typeof startContainer>>;
      let metadata: Awaited<ReturnType<typeof startMetadataServer>>;
      let firstAnswerMs = 0;

      beforeAll(async () => {
        metadata = await startMetadataServer({ projectId, serviceAccountEmail: `${service.name}@example.com` });
        const image = context.images[service.name];
        if (image === undefined) throw new Error(`no image was built for ${service.name}`);
        container = await startContainer(
          host,
          image.tag,
          {
            ...plannedEnvironment(service, context.databases),
            PORT: String(await freePort()),
            K_SERVICE: service.name,
            K_REVISION: `${service.name}-00001-img`,
            K_CONFIGURATION: service.name,
            GCE_METADATA_HOST: metadata.host,
            // Cloud Run gives each instance a network of its own; here they share the host's, so runsd's
            // proxy takes any free port instead of its fixed one.
            RUNSD_PROXY_PORT: '0',
          },
          { label: service.name },
        );
        firstAnswerMs = await container.firstAnswer();
        process.stderr.write(
          `test:image: ${service.name}: first answer ${firstAnswerMs.toFixed(0)} ms after podman start\n`,
        );
      }, 60_000);

      afterAll(async () => {
        await container?.remove();
        await metadata?.close();
      });

      it('answers /healthz', async () => {
        const answer = await request(`${container.origin}/healthz`);
        expect(answer.statusCode).toBe(200);
        await answer.body.dump();
        expect(firstAnswerMs).toBeGreaterThan(0);
      });

      it('runs runsd and the service as a user other than root', async () => {
        const pids = await container.processIds();
        expect(pids.length).toBeGreaterThanOrEqual(2);
        for (const pid of pids) expect(await processUid(pid)).not.toBe(0);
      });

      it('answers a request in flight across SIGTERM, exits 0 within 10 s, and logs one JSON object per line', async () => {
        let release = () => {};
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const [api] = service.serves;
        const body = JSON.stringify({});
        const inFlight = request(`${container.origin}/oto/${api ?? 'NoService'}.NoMethod`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
          body: heldBody(body, gate, 1),
        });
        // The first byte has reached the service before the signal does.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const signalled = performance.now();
        const stopped = container.stop(15_000);
        await new Promise((resolve) => setTimeout(resolve, 300));
        release();
        const answer = await inFlight;
        await answer.body.dump();
        expect(answer.statusCode).toBeLessThan(500);
        expect(await stopped).toBe(0);
        expect(performance.now() - signalled).toBeLessThan(10_000);

        const lines = [...container.lines, ...container.stderr];
        expect(lines.length).toBeGreaterThan(0);
        for (const line of lines) {
          const parsed: unknown = JSON.parse(line);
          expect(parsed, line).toBeTypeOf('object');
        }
      }, 30_000);
    });
  }
});
