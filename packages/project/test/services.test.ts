import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { databasePoolSize, manifestJsonSchema } from '../src/manifest.js';
import { readMigrations } from '../src/migrations.js';
import { loadProject, ManifestError, serviceEnvironment } from '../src/services.js';
import { fixtureProject } from '../src/testing.js';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'manifests-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function service(name: string, manifest: unknown): Promise<void> {
  await mkdir(join(root, 'services', name), { recursive: true });
  const text = typeof manifest === 'string' ? manifest : JSON.stringify(manifest);
  await writeFile(join(root, 'services', name, 'service.json'), text);
}

/** The problems loadProject reports, one line each. */
function problems(apis: string[] = ['TacoService']): readonly string[] {
  try {
    loadProject(root, { apis });
  } catch (error) {
    if (error instanceof ManifestError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadProject', () => {
  it("reads a project's services, with every default filled in", () => {
    const project = loadProject(fixtureProject);
    expect(project.services.map((service) => service.name)).toEqual(['tacoclient', 'tacoserver']);
    expect(project.service('tacoserver')).toEqual({
      name: 'tacoserver',
      dir: 'services/tacoserver',
      port: 8080,
      serves: ['TacoService'],
      basePath: '/oto/',
      calls: [],
      public: false,
      invokers: [],
      env: {},
      secrets: {},
      cloudRun: {},
    });
    expect(project.callers('tacoserver').map((caller) => caller.name)).toEqual(['tacoclient']);
    expect(project.callers('tacoclient')).toEqual([]);
  });

  it('allows cycles in calls', async () => {
    await service('ping', { port: 9001, calls: ['pong'] });
    await service('pong', { port: 9002, calls: ['ping'] });
    expect(problems()).toEqual([]);
  });

  it('names an unknown service, with a suggestion', async () => {
    await service('tacoserver', { port: 8080 });
    await service('tacoclient', { port: 8081, calls: ['tacosever', 'burritos'] });
    expect(problems()).toEqual([
      'services/tacoclient/service.json: calls: no service "tacosever" (did you mean "tacoserver"?)',
      'services/tacoclient/service.json: calls: no service "burritos"',
    ]);
  });

  it('refuses a service that calls itself', async () => {
    await service('loop', { port: 9000, calls: ['loop'] });
    expect(problems()).toEqual(['services/loop/service.json: calls: a service does not call itself ("loop")']);
  });

  it('refuses two services on one port', async () => {
    await service('one', { port: 8080 });
    await service('two', { port: 8080 });
    expect(problems()).toEqual([
      "services/two/service.json: port: 8080 is one's port too (services/one/service.json); give each service its own",
    ]);
  });

  it('refuses an API that no definitions file declares', async () => {
    await service('menuserver', { port: 8082, serves: ['MenuServce'] });
    expect(problems(['TacoService', 'MenuService'])).toEqual([
      'services/menuserver/service.json: serves: no definitions file declares "MenuServce" (did you mean "MenuService"?); declare it in packages/definitions and run `pnpm generate`',
    ]);
  });

  it('refuses a folder name that is not a Cloud Run service name', async () => {
    await service('Menu_Server', { port: 8082 });
    await service('a'.repeat(50), { port: 8083 });
    expect(problems()).toEqual([
      'services/Menu_Server: "Menu_Server" is not a Cloud Run service name: lowercase letters, digits and hyphens, starting with a letter, at most 49 characters',
      `services/${'a'.repeat(50)}: "${'a'.repeat(50)}" is not a Cloud Run service name: lowercase letters, digits and hyphens, starting with a letter, at most 49 characters`,
    ]);
  });

  it('refuses a name that already means something to runsd or to the build and test tools, and says why', async () => {
    for (const [port, name] of ['metadata', 'localhost', 'test', 'dist', 'coverage'].entries()) {
      await service(name, { port: 8082 + port });
    }
    expect(problems()).toEqual([
      'services/coverage: "coverage" is a folder name the build and test tools treat as theirs, so they would skip or delete the service; pick another name',
      'services/dist: "dist" is a folder name the build and test tools treat as theirs, so they would skip or delete the service; pick another name',
      'services/localhost: "localhost" is a host name runsd leaves to the system (this machine), so http://localhost/ would never reach the service; pick another name',
      `services/metadata: "metadata" is a host name runsd leaves to the system (on Cloud Run, the metadata server's), so http://metadata/ would never reach the service; pick another name`,
      'services/test: "test" is a folder name the build and test tools treat as theirs, so they would skip or delete the service; pick another name',
    ]);
  });

  it('names unknown fields and bad values by their path', async () => {
    await service('menuserver', {
      port: 8082,
      cals: ['tacoserver'],
      cloudRun: { memory: '512MB', gpu: 1 },
      env: { PORT: '1' },
      secrets: { DB_PASSWORD: 'db-password' },
      invokers: ['someone@example.com'],
    });
    expect(problems()).toEqual([
      'services/menuserver/service.json: invokers.0: must be a principal: user:…, group:…, serviceAccount:… or domain:…',
      'services/menuserver/service.json: env.PORT: is set by Cloud Run itself',
      'services/menuserver/service.json: secrets.DB_PASSWORD: must be a Secret Manager reference: <secret>:<version>, such as db-password:latest',
      'services/menuserver/service.json: cloudRun.memory: must be a size such as 512Mi or 1Gi',
      'services/menuserver/service.json: cloudRun: unknown field "gpu"',
      'services/menuserver/service.json: unknown field "cals" (did you mean "calls"?)',
    ]);
  });

  it('refuses a variable the tools set from another field, and a secret gcloud would read as a flag', async () => {
    await service('menuserver', {
      port: 8082,
      env: { CORS_ORIGINS: '*', REQUEST_TIMEOUT_SECONDS: '5', HOST: '0.0.0.0' },
      secrets: { GOOGLE_CLOUD_PROJECT: 'project:latest', PAYMENT_KEY: '--help:latest' },
    });
    expect(problems()).toEqual([
      'services/menuserver/service.json: env.CORS_ORIGINS: is set from the `cors` field; list the origins there',
      'services/menuserver/service.json: env.REQUEST_TIMEOUT_SECONDS: is set from `cloudRun.timeoutSeconds`; set it there',
      'services/menuserver/service.json: env.HOST: is set by the tools: loopback off Cloud Run, every interface on it',
      'services/menuserver/service.json: secrets.GOOGLE_CLOUD_PROJECT: is set by the tools: runsd and the deploy know the project',
      'services/menuserver/service.json: secrets.PAYMENT_KEY: must not start with "-", which gcloud would read as a flag',
    ]);
  });

  it('reports every problem at once: what ties manifests together is checked beside a wrong field', async () => {
    await service('menuserver', {
      port: 8082,
      serves: ['MenuServce'],
      cors: { origins: ['https://app.example.com'] },
      secrets: { KEY: 'key' },
    });
    await service('loop', { port: 8082, calls: ['loop'], public: 'yes', cloudRun: { memory: 'lots' } });
    expect(problems(['MenuService'])).toEqual([
      'services/loop/service.json: public: Invalid input: expected boolean, received string',
      'services/loop/service.json: cloudRun.memory: must be a size such as 512Mi or 1Gi',
      'services/menuserver/service.json: secrets.KEY: must be a Secret Manager reference: <secret>:<version>, such as db-password:latest',
      'services/menuserver/service.json: cors: needs "public": true: a browser sends its CORS preflight without a token, and Cloud Run refuses it for a private service before the service sees it',
      'services/loop/service.json: calls: a service does not call itself ("loop")',
      "services/menuserver/service.json: port: 8082 is loop's port too (services/loop/service.json); give each service its own",
      'services/menuserver/service.json: serves: no definitions file declares "MenuServce" (did you mean "MenuService"?); declare it in packages/definitions and run `pnpm generate`',
    ]);
  });

  it('refuses minInstances over maxInstances', async () => {
    await service('menuserver', { port: 8082, cloudRun: { minInstances: 3, maxInstances: 2 } });
    expect(problems()).toEqual([
      'services/menuserver/service.json: cloudRun.minInstances: minInstances must not exceed maxInstances',
    ]);
  });

  it('refuses cors on a private service, and anything in origins that is not an origin', async () => {
    await service('menuserver', { port: 8082, cors: { origins: ['https://app.example.com'] } });
    await service('pageserver', {
      port: 8083,
      public: true,
      cors: { origins: ['https://app.example.com/', 'app.example.com', 'ftp://files.example.com'] },
    });
    expect(problems()).toEqual([
      'services/menuserver/service.json: cors: needs "public": true: a browser sends its CORS preflight without a token, and Cloud Run refuses it for a private service before the service sees it',
      ...[0, 1, 2].map(
        (index) =>
          `services/pageserver/service.json: cors.origins.${index}: must be an origin such as https://app.example.com: a scheme and a host, and a port if not the default; no path. Or * for any page`,
      ),
    ]);
  });

  it('hands a public service its CORS origins as CORS_ORIGINS', async () => {
    await service('pageserver', {
      port: 8083,
      public: true,
      env: { GREETING: 'hola' },
      cors: { origins: ['https://app.example.com', 'http://localhost:5173'] },
    });
    await service('menuserver', { port: 8082 });
    const project = loadProject(root, { apis: [] });
    expect(serviceEnvironment(project.service('pageserver'))).toEqual({
      GREETING: 'hola',
      CORS_ORIGINS: 'https://app.example.com,http://localhost:5173',
    });
    expect(serviceEnvironment(project.service('menuserver'))).toEqual({});
  });

  it('names a folder without a manifest, and one that is not JSON', async () => {
    await mkdir(join(root, 'services', 'empty'), { recursive: true });
    await service('broken', '{ "port": 8080, }');
    const [broken, empty] = problems();
    // The parser's own words differ between Node versions.
    expect(broken).toMatch(/^services\/broken\/service\.json: not JSON: \S/);
    expect(empty).toBe(
      'services/empty/service.json: missing; every folder in services/ is a service and needs one (pnpm new:service makes it)',
    );
  });

  it("passes over what a deleted service leaves behind (node_modules, dist), but not a service's folder without its manifest", async () => {
    await service('kept', { port: 8080 });
    await mkdir(join(root, 'services/deleted/node_modules/.bin'), { recursive: true });
    await mkdir(join(root, 'services/deleted/dist'), { recursive: true });
    await mkdir(join(root, 'services/halfgone/src'), { recursive: true });
    await mkdir(join(root, 'services/halfgone/dist'), { recursive: true });
    expect(problems()).toEqual([
      'services/halfgone/service.json: missing; every folder in services/ is a service and needs one (pnpm new:service makes it)',
    ]);
    await rm(join(root, 'services/halfgone'), { recursive: true });
    expect(loadProject(root, { apis: [] }).services.map((found) => found.name)).toEqual(['kept']);
  });

  it("reads a database's migrations folder, by default migrations/, passing over dot files", async () => {
    await service('orders', { port: 8080, database: {} });
    await service('ledger', { port: 8081, database: { migrations: 'db/schema' } });
    await mkdir(join(root, 'services/orders/migrations'), { recursive: true });
    await writeFile(join(root, 'services/orders/migrations/0001_create_orders.sql'), 'create table orders ();');
    await writeFile(join(root, 'services/orders/migrations/0002_add_total.sql'), 'alter table orders add total int;');
    await writeFile(join(root, 'services/orders/migrations/.gitkeep'), '');
    await mkdir(join(root, 'services/ledger/db/schema'), { recursive: true });
    const project = loadProject(root, { apis: [] });
    expect(project.service('orders').database).toEqual({ migrations: 'migrations' });
    expect(project.service('ledger').database).toEqual({ migrations: 'db/schema' });
    expect(readMigrations(root, 'services/orders/migrations').migrations).toEqual([
      { number: 1, file: '0001_create_orders.sql' },
      { number: 2, file: '0002_add_total.sql' },
    ]);
  });

  it("sizes a database's pool by the service's concurrency, capped at 10, unless the manifest says", async () => {
    await service('orders', { port: 8080, database: {} });
    await service('ledger', { port: 8081, database: {}, cloudRun: { concurrency: 4 } });
    await service('stock', { port: 8082, database: { pool: 25 }, cloudRun: { concurrency: 4 } });
    await service('menu', { port: 8083 });
    for (const name of ['orders', 'ledger', 'stock']) await mkdir(join(root, 'services', name, 'migrations'));
    const project = loadProject(root, { apis: [] });
    expect(['orders', 'ledger', 'stock', 'menu'].map((name) => databasePoolSize(project.service(name)))).toEqual([
      10,
      4,
      25,
      undefined,
    ]);
  });

  it('keeps DATABASE_URL, which the tools set, out of the env and secrets of a service with a database', async () => {
    await service('orders', { port: 8080, database: {}, env: { DATABASE_URL: 'postgresql://elsewhere/orders' } });
    await service('ledger', { port: 8081, database: {}, secrets: { DATABASE_URL: 'ledger-db:latest' } });
    await service('menu', { port: 8082, env: { DATABASE_URL: 'postgresql://elsewhere/menu' } });
    for (const name of ['orders', 'ledger']) await mkdir(join(root, 'services', name, 'migrations'));
    const reason =
      'DATABASE_URL is set by the tools for a service with a database (its own database, in every mode); leave it out of env and secrets';
    expect(problems([])).toEqual([
      `services/ledger/service.json: database: ${reason}`,
      `services/orders/service.json: database: ${reason}`,
    ]);
  });

  it('names a missing migrations folder, a file that is not a migration, a duplicate number and a gap, each in a line', async () => {
    await service('orders', { port: 8080, database: {} });
    await service('ledger', { port: 8081, database: { migrations: 'schema' } });
    await service('stock', { port: 8082, database: { migrations: '../orders/migrations' } });
    const folder = join(root, 'services/orders/migrations');
    await mkdir(join(folder, 'old'), { recursive: true });
    for (const file of [
      '0001_create_orders.sql',
      '0002_add_total.sql',
      '0002_add_note.sql',
      '0005_index.sql',
      'README.md',
      '6_late.sql',
    ]) {
      await writeFile(join(folder, file), 'select 1;');
    }
    expect(problems([])).toEqual([
      'services/ledger/service.json: database.migrations: no folder services/ledger/schema; make it, with 0001_<what>.sql as its first migration',
      'services/orders/migrations/6_late.sql: not named as a migration: NNNN_<what>.sql: four digits, an underscore, then lowercase letters, digits and _',
      'services/orders/migrations/README.md: not a .sql file; a migration is NNNN_<what>.sql: four digits, an underscore, then lowercase letters, digits and _',
      'services/orders/migrations/old: a folder; migrations are the .sql files directly in services/orders/migrations',
      "services/orders/migrations/0002_add_total.sql: number 0002 is 0002_add_note.sql's too; give each migration its own",
      'services/orders/migrations/0005_index.sql: no migration numbered 0003 to 0004 before it; number them from 0001 with no gap',
      "services/stock/service.json: database.migrations: must be a folder inside the service's own, such as migrations",
    ]);
  });

  it('answers an unknown name with the known ones', () => {
    expect(() => loadProject(fixtureProject).service('menuserver')).toThrow(
      'no service "menuserver"; the services are tacoclient, tacoserver',
    );
  });
});

describe('service.schema.json', () => {
  it('is the JSON Schema of the zod schema (pnpm --filter @taco-run/project schema writes it)', async () => {
    const { default: committed } = await import('../service.schema.json', { with: { type: 'json' } });
    expect(committed).toEqual(manifestJsonSchema());
  });
});
