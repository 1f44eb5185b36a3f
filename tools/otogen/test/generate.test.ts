import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { generateTarget, staleFiles, type Target } from '../src/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/otogen/dist/cli.js');
const config = JSON.parse(await readFile(join(root, 'otogen.config.json'), 'utf8')) as { targets: Target[] };

describe('generated output', () => {
  it.each(config.targets.map((target) => [target.out, target] as const))(
    'is committed and current for %s',
    async (_out, target) => {
      const files = await generateTarget(target, root);
      expect(await staleFiles(target, files, root)).toEqual([]);
    },
  );

  it('is byte-identical from one run to the next', async () => {
    const [target] = config.targets;
    assert.exists(target);
    const [first, second] = await Promise.all([generateTarget(target, root), generateTarget(target, root)]);
    expect(second).toEqual(first);
    expect(first.map((file) => file.path)).toEqual([
      'src/types.ts',
      'src/schemas.ts',
      'src/server.ts',
      'src/client.ts',
      'src/index.ts',
      'docs/API.md',
      'docs/openapi.json',
    ]);
  });
});

describe('the otogen command', () => {
  let work: string;
  const run = (...args: string[]) => runNode(cli, args, { cwd: work });

  beforeAll(async () => {
    // The same bundle `pnpm generate` runs, built from tools/otogen/tsup.config.ts.
    await build({ config: join(root, 'tools/otogen/tsup.config.ts'), silent: true });
    work = await mkdtemp(join(tmpdir(), 'otogen-'));
    // Paths in the generated headers must match the committed ones, so the layout is kept.
    await cp(join(root, 'packages/definitions/src'), join(work, 'packages/definitions/src'), { recursive: true });
    await cp(join(root, 'packages/generated/src'), join(work, 'packages/generated/src'), { recursive: true });
    await cp(join(root, 'packages/generated/docs'), join(work, 'packages/generated/docs'), { recursive: true });
    // Generated files are formatted by the project's own Biome settings, which read .gitignore.
    for (const file of ['biome.jsonc', '.gitignore']) await cp(join(root, file), join(work, file));
    await writeFile(
      join(work, 'otogen.config.json'),
      JSON.stringify({
        targets: [
          { ...config.targets[0], definitions: ['packages/definitions/src/taco.ts'], out: 'packages/generated' },
        ],
      }),
    );
  });

  afterAll(() => rm(work, { recursive: true, force: true }));

  it('passes --check on the committed output', async () => {
    const result = await run('generate', '--check');
    expect(result).toMatchObject({ code: 0, stdout: 'otogen: 1 targets up to date\n' });
  });

  it('fails --check naming the stale files after a doc comment is edited, until regenerated', async () => {
    const definitions = join(work, 'packages/definitions/src/taco.ts');
    const text = await readFile(definitions, 'utf8');
    await writeFile(definitions, text.replace('Name is your name.', 'Name is what people call you.'));

    const stale = await run('generate', '--check');
    expect(stale.code).toBe(1);
    expect(stale.stderr.split('\n').filter(Boolean)).toEqual([
      'otogen: packages/generated/src/types.ts is stale; run `pnpm generate`',
      'otogen: packages/generated/src/schemas.ts is stale; run `pnpm generate`',
      'otogen: packages/generated/docs/API.md is stale; run `pnpm generate`',
      'otogen: packages/generated/docs/openapi.json is stale; run `pnpm generate`',
    ]);

    const generate = await run('generate');
    expect(generate).toMatchObject({
      code: 0,
      stdout: 'otogen: wrote 7 files to packages/generated from packages/definitions/src/taco.ts\n',
    });
    expect(await readFile(join(work, 'packages/generated/src/types.ts'), 'utf8')).toContain(
      'Name is what people call you.',
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
    expect(model.services.map((service) => service.name)).toEqual(['TacoService']);
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
    const definitions = join(work, 'packages/definitions/src/taco.ts');
    const text = await readFile(definitions, 'utf8');
    await writeFile(definitions, text.replace('Name is your name.', 'Name is your full name.'));
    try {
      const result = await run('generate', '--chek');
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr).toMatch(/^otogen: unknown option --chek; did you mean --check\?\n\n.*usage:/s);
      expect(await readFile(types, 'utf8')).toBe(before);
    } finally {
      await writeFile(definitions, text);
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
