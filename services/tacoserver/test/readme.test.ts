import { readFile } from 'node:fs/promises';
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
