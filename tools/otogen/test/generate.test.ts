import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureProject, runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateTarget, loadConfig, staleFiles, type Target } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/otogen/dist/cli.js');
// The fixture's own config: `pnpm otogen generate --config tools/otogen/test/fixtures/inventory/otogen.config.json`.
const inventoryConfig = 'tools/otogen/test/fixtures/inventory/otogen.config.json';
const [inventory] = (JSON.parse(await readFile(join(root, inventoryConfig), 'utf8')) as { targets: [Target] }).targets;
// The framework tests' project, generated in its own folder, as a project is (its docs name its own services).
const [taco] = (await loadConfig(fixtureProject)).targets as [Target];

describe('generated output', () => {
  it('is committed and current for the inventory fixture', async () => {
    const files = await generateTarget(inventory, root);
    expect(await staleFiles(inventory, files, root)).toEqual([]);
  });

  it('is committed and current for the taco fixture project', async () => {
    const files = await generateTarget(taco, fixtureProject);
    expect(await staleFiles(taco, files, fixtureProject)).toEqual([]);
  });

  it('is byte-identical from one run to the next', async () => {
    const [first, second] = await Promise.all([generateTarget(inventory, root), generateTarget(inventory, root)]);
    expect(second).toEqual(first);
    expect(first.map((file) => file.path)).toEqual([
      'src/types.ts',
      'src/schemas.ts',
      'src/server.ts',
      'src/validators.js',
      'src/validators.d.ts',
      'src/serializers.js',
      'src/serializers.d.ts',
      'src/shapes.ts',
      'src/client.ts',
      'src/web.ts',
      'src/fakes.ts',
      'src/index.ts',
      'docs/API.md',
      'docs/openapi.json',
      'model.json',
      'definitions.go',
    ]);
  });
});

describe('the otogen command, in a project without otogen.config.json', () => {
  let work: string;
  const run = (...args: string[]) => runNode(cli, args, { cwd: work });
  const definitions = (file: string) => join(work, 'packages/definitions/src', file);

  beforeAll(async () => {
    // The same bundle `pnpm generate` runs, built from tools/otogen/tsup.config.ts.
    await build({ config: join(root, 'tools/otogen/tsup.config.ts'), silent: true });
    work = await mkdtemp(join(tmpdir(), 'otogen-'));
    // A project laid out as this one is, with the kitchen fixture as its definitions.
    await cp(join(root, 'tools/otogen/test/fixtures/kitchen/definitions'), join(work, 'packages/definitions/src'), {
      recursive: true,
    });
    // Generated files are formatted by the project's own Biome settings, which read .gitignore.
    for (const file of ['biome.jsonc', '.gitignore']) await cp(join(root, file), join(work, file));
  });

  afterAll(() => rm(work, { recursive: true, force: true }));

  it('generates every definitions file into packages/generated, and then passes --check', async () => {
    expect(await run('generate')).toEqual({
      code: 0,
      stdout: 'otogen: wrote 16 of 16 files to packages/generated from packages/definitions/src\n',
      stderr: '',
    });
    const index = await readFile(join(work, 'packages/generated/src/index.ts'), 'utf8');
    expect(index).toContain("export * from './client.js';");
    const client = await readFile(join(work, 'packages/generated/src/client.ts'), 'utf8');
    expect(client).toContain('export class MenuServiceClient');
    expect(client).toContain('export class OrderServiceClient');
    // The web client has the same classes and methods, over fetch.
    const web = await readFile(join(work, 'packages/generated/src/web.ts'), 'utf8');
    expect(web).toContain("from '@taco-run/rpc/web'");
    // Line for line, but for the runtime it builds on, its options' doc, and the error it re-exports for web apps.
    const api = (text: string, runtime: RegExp) =>
      text
        .replace(runtime, '')
        .split('\n')
        .filter(
          (line) => line.trim() !== '' && !line.includes('@param options') && !line.startsWith('export { type Code'),
        );
    expect(api(web, /WebRpcClient|WebClientOptions|@taco-run\/rpc\/web/g)).toEqual(
      api(client, /RpcClient|ClientOptions|@taco-run\/rpc\/client/g),
    );
    const model = JSON.parse(await readFile(join(work, 'packages/generated/model.json'), 'utf8')) as {
      services: { name: string }[];
    };
    expect(model.services.map((service) => service.name)).toEqual(['MenuService', 'OrderService']);
    expect(await run('generate', '--check')).toMatchObject({ code: 0, stdout: 'otogen: 1 targets up to date\n' });
    // Only what differs is written, so a watcher sees no change when nothing changed.
    expect(await run('generate')).toMatchObject({
      code: 0,
      stdout: 'otogen: packages/generated is up to date from packages/definitions/src\n',
    });
  });

  it('picks up a new definitions file with no config', async () => {
    await writeFile(
      definitions('bar.ts'),
      "import type { Dish } from './menu.js';\n\n/** BarService pours drinks. */\nexport interface BarService {\n  pour(request: Dish): Dish;\n}\n",
    );
    try {
      const check = await run('generate', '--check');
      expect(check.code).toBe(1);
      expect(check.stderr).toContain('otogen: packages/generated/model.json is stale; run `pnpm generate`');
      const model = JSON.parse((await run('model')).stdout) as { services: { name: string }[] };
      expect(model.services.map((service) => service.name)).toEqual(['BarService', 'MenuService', 'OrderService']);
    } finally {
      await rm(definitions('bar.ts'));
    }
  });

  it('fails --check naming the stale files after a doc comment is edited, until regenerated', async () => {
    const text = await readFile(definitions('menu.ts'), 'utf8');
    await writeFile(
      definitions('menu.ts'),
      text.replace('Name is what the menu calls it.', 'Name is what guests call it.'),
    );

    const stale = await run('generate', '--check');
    expect(stale.code).toBe(1);
    expect(stale.stderr.split('\n').filter(Boolean)).toEqual([
      'otogen: packages/generated/src/types.ts is stale; run `pnpm generate`',
      'otogen: packages/generated/src/schemas.ts is stale; run `pnpm generate`',
      // The precompiled validators embed the schemas: a changed schema makes them stale too.
      'otogen: packages/generated/src/validators.js is stale; run `pnpm generate`',
      'otogen: packages/generated/docs/API.md is stale; run `pnpm generate`',
      'otogen: packages/generated/docs/openapi.json is stale; run `pnpm generate`',
      'otogen: packages/generated/model.json is stale; run `pnpm generate`',
      'otogen: packages/generated/definitions.go is stale; run `pnpm generate`',
    ]);

    const generate = await run('generate');
    expect(generate).toMatchObject({ code: 0, stdout: expect.stringMatching(/^otogen: wrote 7 of 16 files/) });
    expect(await readFile(join(work, 'packages/generated/src/types.ts'), 'utf8')).toContain(
      'Name is what guests call it.',
    );
    expect((await run('generate', '--check')).code).toBe(0);
  });

  it('names a stray file in the output as stale', async () => {
    await writeFile(join(work, 'packages/generated/src/old.ts'), 'export {};\n');
    const result = await run('generate', '--check');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('packages/generated/src/old.ts (not generated from the definitions)');
    await rm(join(work, 'packages/generated/src/old.ts'));
  });

  it('prints the model', async () => {
    const result = await run('model');
    const model = JSON.parse(result.stdout) as { services: { name: string }[] };
    expect(model.services.map((service) => service.name)).toEqual(['MenuService', 'OrderService']);
  });

  it('reports definition problems at file:line and exits 1', async () => {
    await writeFile(
      join(work, 'bad.ts'),
      'export interface S {\n  call(a: In, b: In): In;\n}\nexport interface In { x: any }\n',
    );
    const result = await run('model', 'bad.ts');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'otogen: the definitions have 2 problem(s):\nbad.ts:2: S.call takes 2 parameters; a method takes exactly one request object\nbad.ts:4: In.x is any; give it a concrete type\n',
    );
  });

  it('prints usage for an unknown command', async () => {
    const result = await run('frobnicate');
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toMatch(
      /^otogen: unknown command frobnicate\n\notogen 0\.1\.0: .*\n\nusage:\n {2}otogen generate/,
    );
  });

  it('refuses an unknown option with exit 2 and writes nothing', async () => {
    const types = join(work, 'packages/generated/src/types.ts');
    const before = await readFile(types, 'utf8');
    const text = await readFile(definitions('menu.ts'), 'utf8');
    await writeFile(definitions('menu.ts'), text.replace('Name is what', 'Name is exactly what'));
    try {
      const result = await run('generate', '--chek');
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^otogen: unknown option --chek; did you mean --check\?\n\n.*usage:/s);
      expect(await readFile(types, 'utf8')).toBe(before);
    } finally {
      await writeFile(definitions('menu.ts'), text);
    }
  });

  it.each([['--help'], ['-h']])('prints its usage on stdout for %s and exits 0', async (flag) => {
    const result = await run(flag);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('usage:\n  otogen generate [--check]');
  });

  it('prints its version for --version', async () => {
    expect(await run('--version')).toEqual({ code: 0, stdout: 'otogen 0.1.0\n', stderr: '' });
  });
});

describe('renderers of your own', () => {
  let work: string;
  const run = (...args: string[]) => runNode(cli, args, { cwd: work });
  const config = async (name: string, renderers: string[]) => {
    const target = { definitions: ['packages/definitions/src'], out: 'packages/generated', renderers };
    await writeFile(join(work, name), JSON.stringify({ targets: [target] }));
    return name;
  };

  beforeAll(async () => {
    await build({ config: join(root, 'tools/otogen/tsup.config.ts'), silent: true });
    work = await mkdtemp(join(tmpdir(), 'otogen-renderers-'));
    await cp(join(root, 'tools/otogen/test/fixtures/kitchen/definitions'), join(work, 'packages/definitions/src'), {
      recursive: true,
    });
    for (const file of ['biome.jsonc', '.gitignore']) await cp(join(root, file), join(work, file));
    await mkdir(join(work, 'renderers'));
    // TypeScript, which Node 20 cannot import: otogen compiles it itself.
    await writeFile(
      join(work, 'renderers/methods.ts'),
      `interface Model { services: { name: string; methods: { wireName: string }[] }[] }
export default function methods(model: Model): { path: string; text: string }[] {
  const names: string[] = model.services.flatMap((service) => service.methods.map((method) => method.wireName));
  return [{ path: 'methods/all.txt', text: names.join('\\n') + '\\n' }];
}
`,
    );
    await writeFile(
      join(work, 'renderers/plain.mjs'),
      "export default () => [{ path: 'plain.txt', text: 'plain\\n' }];\n",
    );
    await writeFile(join(work, 'renderers/no-default.ts'), 'export const render = () => [];\n');
    await writeFile(
      join(work, 'renderers/escape.ts'),
      "export default () => [{ path: '../outside.txt', text: '' }];\n",
    );
    await writeFile(join(work, 'renderers/throws.ts'), "export default () => { throw new Error('no tacos'); };\n");
    await writeFile(join(work, 'renderers/broken.ts'), 'export default () => [\n  { path: \n');
    await writeFile(join(work, 'renderers/clash.ts'), "export default () => [{ path: 'src/types.ts', text: '' }];\n");
  });

  afterAll(() => rm(work, { recursive: true, force: true }));

  it('writes what each renderer returns under out, and --check holds it to the definitions', async () => {
    const name = await config('own.json', ['renderers/methods.ts', 'renderers/plain.mjs']);
    expect(await run('generate', '--config', name)).toMatchObject({
      code: 0,
      stdout: 'otogen: wrote 18 of 18 files to packages/generated from packages/definitions/src\n',
    });
    expect(await readFile(join(work, 'packages/generated/methods/all.txt'), 'utf8')).toBe(
      'MenuService.ListDishes\nOrderService.PlaceOrder\n',
    );
    expect(await readFile(join(work, 'packages/generated/plain.txt'), 'utf8')).toBe('plain\n');
    expect(await run('generate', '--check', '--config', name)).toMatchObject({ code: 0 });
    await writeFile(join(work, 'packages/generated/methods/all.txt'), 'edited by hand\n');
    const stale = await run('generate', '--check', '--config', name);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('otogen: packages/generated/methods/all.txt is stale; run `pnpm generate`');
  });

  it.each([
    ['renderers/missing.ts', /^otogen: renderer renderers\/missing\.ts not found \(renderers are relative to .+\)\n$/],
    [
      'renderers/no-default.ts',
      /^otogen: renderer renderers\/no-default\.ts must export a default function: \(model, target\) => \[\{ path, text \}\]\n$/,
    ],
    [
      'renderers/escape.ts',
      /^otogen: renderer renderers\/escape\.ts may write only under the target's out; \.\.\/outside\.txt is outside it\n$/,
    ],
    ['renderers/throws.ts', /^otogen: renderer renderers\/throws\.ts failed: no tacos\n$/],
    ['renderers/broken.ts', /^otogen: renderer renderers\/broken\.ts could not be compiled at .*broken\.ts:3: .+\n$/],
    ['renderers/clash.ts', /^otogen: two renderers write packages\/generated\/src\/types\.ts\n$/],
  ])('says in one line what is wrong with %s, and exits 1', async (renderer, message) => {
    const name = await config('wrong.json', [renderer]);
    const result = await run('generate', '--config', name);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
  });
});

describe('the otogen command, in a project with no definitions yet', () => {
  let work: string;

  beforeAll(async () => {
    await build({ config: join(root, 'tools/otogen/tsup.config.ts'), silent: true });
    // A project whose example was just deleted: the definitions folder is there, and empty.
    work = await mkdtemp(join(tmpdir(), 'otogen-empty-'));
    await mkdir(join(work, 'packages/definitions/src'), { recursive: true });
    for (const file of ['biome.jsonc', '.gitignore']) await cp(join(root, file), join(work, file));
  });

  afterAll(() => rm(work, { recursive: true, force: true }));

  it('writes an empty package, every module a module with nothing in it, and then passes --check', async () => {
    const run = (...args: string[]) => runNode(cli, args, { cwd: work });
    expect(await run('generate')).toEqual({
      code: 0,
      stdout: 'otogen: wrote 16 of 16 files to packages/generated from packages/definitions/src\n',
      stderr: '',
    });
    const read = (path: string) => readFile(join(work, 'packages/generated', path), 'utf8');
    const header =
      '// Code generated by otogen with no definitions yet. DO NOT EDIT.\n// Change the definitions and run `pnpm generate`.\n';
    const empty = `${header}\n// The definitions declare no API yet.\nexport {};\n`;
    for (const module of [
      'types.ts',
      'schemas.ts',
      'server.ts',
      'shapes.ts',
      'client.ts',
      'fakes.ts',
      'validators.js',
    ]) {
      expect(await read(`src/${module}`)).toBe(empty);
    }
    // What a web app and a Node service import from the package stays there: the error type.
    expect(await read('src/web.ts')).toBe(
      `${header}\nexport { type Code, isRpcError, RpcError } from '@taco-run/rpc/web';\n`,
    );
    expect(await read('src/index.ts')).toContain("export { type Code, isRpcError, RpcError } from '@taco-run/rpc';");
    expect(JSON.parse(await read('docs/openapi.json'))).toMatchObject({ info: { title: 'No API yet' }, paths: {} });
    expect(await read('definitions.go')).toBe(
      `${header}\n// Package definitions is empty: the definitions declare no API yet.\npackage definitions\n`,
    );
    expect(await run('generate', '--check')).toMatchObject({ code: 0, stdout: 'otogen: 1 targets up to date\n' });
  });
});
