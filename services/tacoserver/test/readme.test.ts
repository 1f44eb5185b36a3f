import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFile(new URL(path, import.meta.url), 'utf8');

describe("the README's Storing data section", () => {
  it("shows tacoserver's row types as pnpm generate writes them", async () => {
    const [readme, generated] = await Promise.all([read('../../../README.md'), read('../src/database.generated.ts')]);
    const rowTypes = generated.slice(generated.indexOf('/**\n * One row'), generated.indexOf('/**\n * The migrations'));
    expect(rowTypes.length).toBeGreaterThan(0);
    expect(readme).toContain(`\`\`\`ts\n${rowTypes.trimEnd()}\n\`\`\``);
  });

  it('shows its first migration as it is', async () => {
    const [readme, migration] = await Promise.all([
      read('../../../README.md'),
      read('../migrations/0001_taco_orders.sql'),
    ]);
    const table = migration.slice(0, migration.indexOf(');\n') + 3);
    expect(readme).toContain(`\`\`\`sql\n${table}\`\`\``);
  });
});

describe("the README's Data on Cloud Run section", () => {
  it("shows tacoserver's plan as the dry run prints it", async () => {
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const command = 'GOOGLE_CLOUD_PROJECT=my-taco-project IMAGE_TAG=v1 pnpm deploy:one tacoserver --dry-run';
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['deploy/dist/cli.js', 'one', 'tacoserver', '--dry-run'],
      {
        cwd: root,
        env: { PATH: process.env.PATH, GOOGLE_CLOUD_PROJECT: 'my-taco-project', IMAGE_TAG: 'v1' },
      },
    );
    const readme = await read('../../../README.md');
    const start = readme.indexOf('```text\n', readme.indexOf(`\`${command}\``)) + '```text\n'.length;
    const excerpt = readme.slice(start, readme.indexOf('\n```', start));
    // Each part between blank lines is the output's own, in the output's order; `…` stands for what is left out.
    const parts = excerpt.split('\n\n').filter((part) => part !== '…');
    expect(parts.length).toBeGreaterThan(10);
    let from = 0;
    for (const part of parts) {
      const at = stdout.indexOf(part, from);
      expect({ part, found: at >= 0 }).toEqual({ part, found: true });
      from = at + part.length;
    }
  });
});
