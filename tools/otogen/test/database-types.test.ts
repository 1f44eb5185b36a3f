import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/otogen/dist/cli.js');

let work: string;
const run = (...args: string[]) => runNode(cli, args, { cwd: work, timeout: 60_000 });
const migrations = () => join(work, 'services/orders/migrations');
const generated = () => join(work, 'services/orders/src/database.generated.ts');

/**
 * The type errors of a module that queries the generated tables, as `pnpm typecheck` would report them, with
 * the package the generated module imports resolved to this repository's.
 */
async function typeErrors(query: string): Promise<string[]> {
  const file = join(work, 'services/orders/src/query.ts');
  await writeFile(
    file,
    `import type { Kysely } from '@taco-run/database';\nimport type { Tables } from './database.generated.js';\n\ndeclare const db: Kysely<Tables>;\nexport const query = ${query};\n`,
  );
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    paths: {
      '@taco-run/database': [join(root, 'packages/database/src/index.ts')],
      kysely: [join(root, 'packages/database/node_modules/kysely')],
    },
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

beforeAll(async () => {
  // The same bundle `pnpm generate` runs.
  await build({ config: join(root, 'tools/otogen/tsup.config.ts'), silent: true });
  work = await mkdtemp(join(tmpdir(), 'otogen-database-'));
  for (const file of ['biome.jsonc', '.gitignore']) await cp(join(root, file), join(work, file));
  await mkdir(join(work, 'packages/definitions/src'), { recursive: true });
  await mkdir(migrations(), { recursive: true });
  await writeFile(join(work, 'services/orders/service.json'), '{ "port": 8090, "database": {} }\n');
  await writeFile(
    join(migrations(), '0001_taco_orders.sql'),
    `create type size as enum ('small', 'large');
create table taco_orders (
  id bigint generated always as identity primary key,
  name text not null,
  tacos text[] not null,
  size size,
  placed_at timestamptz not null default now()
);
comment on column taco_orders.name is 'Who ate them.';
`,
  );
}, 60_000);

afterAll(() => rm(work, { recursive: true, force: true }));

describe('row types from a service’s migrations', () => {
  it('writes database.generated.ts from what the migrations make, which --check then holds to them', async () => {
    expect(await run('generate')).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('otogen: wrote services/orders/src/database.generated.ts from its migrations\n'),
    });
    const text = await readFile(generated(), 'utf8');
    expect(text).toContain("export type Size = 'small' | 'large';");
    expect(text).toContain(
      'export interface TacoOrders {\n  id: GeneratedAlways<Int8>;\n  /**\n   * Who ate them.\n   */\n  name: string;\n  tacos: string[];\n  size: Size | null;\n  placed_at: Generated<Timestamp>;\n}',
    );
    expect(text).toContain("{ file: '0001_taco_orders.sql', checksum: '");
    expect(text).toContain('poolSize: 10,');
    expect(await run('generate', '--check')).toMatchObject({ code: 0 });
  }, 60_000);

  it('types queries: a column no migration made fails the type check, an insert must give what has no default', async () => {
    expect(
      await typeErrors(`db.selectFrom('taco_orders').select(['name', 'size', 'placed_at']).where('id', '=', '1')`),
    ).toEqual([]);
    expect(
      await typeErrors(`db.insertInto('taco_orders').values({ name: 'Sammy Sosa', tacos: ['carnitas'] })`),
    ).toEqual([]);
    expect((await typeErrors(`db.selectFrom('taco_orders').select(['nickname'])`)).join('\n')).toContain('nickname');
    expect(await typeErrors(`db.insertInto('taco_orders').values({ name: 'Sammy Sosa' })`)).not.toEqual([]);
    expect(
      await typeErrors(`db.insertInto('taco_orders').values({ id: '7', name: 'Sammy Sosa', tacos: [] })`),
    ).not.toEqual([]);
  }, 60_000);

  it('fails --check when a migration is added, until regenerated; then the new column type-checks', async () => {
    await writeFile(join(migrations(), '0002_nickname.sql'), 'alter table taco_orders add column nickname text;\n');
    expect(await run('generate', '--check')).toMatchObject({
      code: 1,
      stderr: 'otogen: services/orders/src/database.generated.ts is stale; run `pnpm generate`\n',
    });
    expect((await run('generate')).code).toBe(0);
    expect(await typeErrors(`db.selectFrom('taco_orders').select(['nickname'])`)).toEqual([]);
  }, 60_000);

  it('reports a migration that fails at file:line, with PostgreSQL’s message, and writes nothing', async () => {
    await writeFile(join(migrations(), '0003_broken.sql'), '-- a typo\nalter tabel taco_orders add column x int;\n');
    const before = await readFile(generated(), 'utf8');
    expect(await run('generate')).toMatchObject({
      code: 1,
      stderr:
        'otogen: services/orders/migrations/0003_broken.sql:2: syntax error at or near "tabel"; nothing of it was applied\n',
    });
    expect(await readFile(generated(), 'utf8')).toBe(before);
    await rm(join(migrations(), '0003_broken.sql'));
  }, 60_000);
});
