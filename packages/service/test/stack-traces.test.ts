import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceBundle } from '../../../services/bundle.js';

// A service's bundle, built as `pnpm build` builds one, throws from its TypeScript source: the
// stack names that source, mapped when it is formatted rather than at start-up.

const stackTraces = fileURLToPath(new URL('../src/stack-traces.ts', import.meta.url));
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'stack-traces-'));
  const service = join(work, 'services/boom');
  await mkdir(join(service, 'src'), { recursive: true });
  await writeFile(join(service, 'package.json'), JSON.stringify({ type: 'module' }));
  await writeFile(
    join(service, 'src/thrower.ts'),
    "// Line 1.\nexport function eat(tacos: number): number {\n  if (tacos > 1) throw new RangeError(tacos + ' tacos is too many');\n  return tacos;\n}\n",
  );
  await writeFile(
    join(service, 'src/main.ts'),
    `import { mapStackTracesOnDemand } from ${JSON.stringify(stackTraces)};\nimport { eat } from './thrower.js';\n\nif (process.argv[2] === 'mapped') mapStackTracesOnDemand();\ntry {\n  eat(2);\n} catch (error) {\n  console.log((error as Error).stack);\n}\n`,
  );
  await build(serviceBundle(service, { silent: true }));
});

afterAll(() => rm(work, { recursive: true, force: true }));

describe('mapStackTracesOnDemand', () => {
  it('names the TypeScript file, line and column of each frame, from the repository root', async () => {
    const { code, stdout } = await runNode(join(work, 'services/boom/dist/main.js'), ['mapped'], { cwd: work });
    expect(code).toBe(0);
    const [head, first, second] = stdout.split('\n');
    expect(head).toBe('RangeError: 2 tacos is too many');
    expect(first).toBe('    at eat (services/boom/src/thrower.ts:3:24)');
    expect(second).toMatch(/^ {4}at .*services\/boom\/src\/main\.ts:6:3\)?$/);
  });

  it('leaves the stack as V8 writes it when not installed: the bundle, not the source', async () => {
    const { stdout } = await runNode(join(work, 'services/boom/dist/main.js'), [], { cwd: work });
    expect(stdout.split('\n')[1]).toMatch(/^ {4}at eat \(file:\/\/.*\/services\/boom\/dist\/main\.js:\d+:\d+\)$/);
  });

  it("steps aside for Node's own mapping under --enable-source-maps", async () => {
    const { stdout } = await runNode(join(work, 'services/boom/dist/main.js'), ['mapped'], {
      cwd: work,
      env: { ...process.env, NODE_OPTIONS: '--enable-source-maps' },
    });
    expect(stdout.split('\n')[1]).toBe(`    at eat (${join(work, 'services/boom/src/thrower.ts')}:3:24)`);
  });
});
