import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type MetadataServer, startMetadataServer } from '@taco-run/cloud-emulator';
import { type ServiceProcess, freePort, startService } from '@taco-run/service/process';
import { build } from 'tsup';
import { nodeBundle } from '../../scripts/node-bundle.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Case 5: 200 000 RPCs through runsd's in-process path, with a token from the metadata emulator.
// No errors; memory flat from 50k to 200k; file descriptors flat.

const root = fileURLToPath(new URL('../../', import.meta.url));
const calls = 200_000;

describe('soak through runsd', () => {
  let tacoserver: ServiceProcess;
  let metadata: MetadataServer;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'soak-'));
    await build(nodeBundle({ entry: { 'soak-client': join(root, 'reliability/test/fixtures/soak-client.ts') }, outDir: work, silent: true }));
    metadata = await startMetadataServer();
    tacoserver = await startService(join(root, 'services/tacoserver/dist/main.js'), { LOG_LEVEL: 'warn' }, { port: await freePort() });
  });

  afterAll(async () => {
    expect(await tacoserver.stop()).toBe(0);
    await metadata.close();
    await rm(work, { recursive: true, force: true });
  });

  it(`makes ${calls} calls with no error, flat memory and flat file descriptors`, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(root, 'tools/runsd/dist/runsd.js'), '--', process.execPath, join(work, 'soak-client.js'), String(calls), '50000', '100000', '150000'],
      {
        timeout: 110_000,
        maxBuffer: 1 << 20,
        env: { PATH: process.env.PATH, K_SERVICE: 'soak', GCE_METADATA_HOST: metadata.host, CLOUD_RUN_PROJECT_HASH: 'soakhash', RUNSD_TARGET_OVERRIDE: tacoserver.origin },
      },
    );
    const reports = stdout.trim().split('\n').map((line) => JSON.parse(line) as { done: number; errors: number; rssMb: number; fds: number });
    expect(reports.map((report) => report.done)).toEqual([50_000, 100_000, 150_000, calls]);
    const first = reports[0]!;
    const last = reports.at(-1)!;
    expect(last.errors).toBe(0);
    expect((last.rssMb - first.rssMb) / first.rssMb).toBeLessThan(0.1);
    expect(Math.abs(last.fds - first.fds)).toBeLessThanOrEqual(2);
    expect(metadata.identityRequests.get('https://tacoserver-soakhash-uc.a.run.app')).toBe(1);
    console.log(`soak: ${calls} calls, RSS ${first.rssMb.toFixed(1)} MB at 50k → ${last.rssMb.toFixed(1)} MB at 200k, fds ${first.fds} → ${last.fds}`);
  });
});
