import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runNode } from '@taco-run/project/testing';
import { build } from 'tsup';
import { beforeAll, describe, expect, it } from 'vitest';

// The command behind `pnpm dev` and `pnpm start`: its command line, which it reads before it starts anything.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/dev-runner/dist/cli.js');

beforeAll(() => build({ config: join(root, 'tools/dev-runner/tsup.config.ts'), silent: true }));

const run = (...args: string[]) => runNode(cli, args, { cwd: root, timeout: 10_000 });

describe('dev-runner', () => {
  it.each([
    [['--wach'], 'unknown option --wach; did you mean --watch?'],
    [['--watch=yes'], '--watch does not take a value'],
    [['tacoserver'], 'unexpected argument "tacoserver"'],
  ])('refuses %j with exit 2 and the usage, and starts no service', async (args, reason) => {
    const result = await run(...args);
    // A started service would have printed its prefixed lines on stdout.
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr.startsWith(`dev-runner: ${reason}\n\ndev-runner 0.1.0: `)).toBe(true);
    expect(result.stderr).toContain('usage:\n  dev-runner [--watch]');
  });

  it.each([['--help'], ['-h']])('prints its usage on stdout for %s and exits 0', async (flag) => {
    const result = await run(flag);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('usage:\n  dev-runner [--watch]');
  });

  it('prints its version for --version', async () => {
    expect(await run('--version')).toEqual({ code: 0, stdout: 'dev-runner 0.1.0\n', stderr: '' });
  });
});
