import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startService } from '../src/process.js';

let dir: string;
let failing: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'start-service-'));
  failing = join(dir, 'failing.mjs');
  // As a service that refuses its configuration does: a reason on stderr, then exit 1, before it listens.
  await writeFile(failing, "process.stderr.write('PORT: must be a port\\n'); process.exit(1);\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('startService', () => {
  it('says what a service that exits before it listens wrote on stderr', async () => {
    await expect(startService(failing)).rejects.toThrow(/process exited; stderr:\nPORT: must be a port/);
  });

  it('says the same when readiness is a fixed port taking connections', async () => {
    const port = await freePort();
    await expect(startService(failing, {}, { port })).rejects.toThrow(
      new RegExp(`process exited with 1 before listening on ${port}; stderr:\\nPORT: must be a port`),
    );
  });
});
