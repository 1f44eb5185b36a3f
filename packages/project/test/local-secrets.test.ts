import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectSecrets } from '../src/local-secrets.js';
import { loadProject } from '../src/services.js';

// A service's secrets under pnpm dev and dev:cloud: from the environment, else services/<name>/.secrets.local.

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'local-secrets-'));
  await mkdir(join(root, 'services/orders'), { recursive: true });
  await writeFile(
    join(root, 'services/orders/service.json'),
    JSON.stringify({ port: 8080, secrets: { PAYMENT_KEY: 'payment-key:latest', DB_PASSWORD: 'db-password:2' } }),
  );
});

afterAll(() => rm(root, { recursive: true, force: true }));

const secrets = (env: NodeJS.ProcessEnv) => projectSecrets(root, loadProject(root, { apis: [] }).services, env);
const missingBoth =
  'orders needs PAYMENT_KEY (payment-key:latest), DB_PASSWORD (db-password:2): set them in services/orders/.secrets.local or the environment';

describe('projectSecrets', () => {
  it('names every secret found nowhere', async () => {
    expect(secrets({})).toEqual({ values: { orders: {} }, missing: missingBoth });
  });

  it('names an empty one in the same words as a missing one, from the environment or the file', async () => {
    await writeFile(join(root, 'services/orders/.secrets.local'), 'PAYMENT_KEY=\n');
    expect(secrets({ DB_PASSWORD: '' })).toEqual({ values: { orders: {} }, missing: missingBoth });
  });

  it("takes the file's values, and the environment's over them", async () => {
    await writeFile(join(root, 'services/orders/.secrets.local'), 'PAYMENT_KEY=from-the-file\nDB_PASSWORD=hunter2\n');
    expect(secrets({ DB_PASSWORD: 'from-the-environment' })).toEqual({
      values: { orders: { PAYMENT_KEY: 'from-the-file', DB_PASSWORD: 'from-the-environment' } },
      missing: undefined,
    });
  });
});
