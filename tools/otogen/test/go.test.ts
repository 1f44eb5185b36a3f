import { execFileSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDefinitions, render } from '../src/index.js';

// definitions.go, the API as oto definitions: its JSON names are ours field for field, and,
// where a Go toolchain is at hand, it is gofmt-clean and passes go vet.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = ['tools/otogen/test/fixtures/inventory/generated/definitions.go', 'packages/generated/definitions.go'];

/** Each struct's fields as the Go file puts them on the wire: `json:"name"` tags, and whether omitempty. */
function jsonNames(go: string): Record<string, string[]> {
  const structs: Record<string, string[]> = {};
  for (const [, name, body = ''] of go.matchAll(/^type (\w+) struct(?: \{\n([\s\S]*?)\n\}|\{\})$/gm)) {
    structs[name as string] = [...body.matchAll(/`json:"([^"]+)"/g)].map(([, tag]) => tag as string);
  }
  return structs;
}

describe('definitions.go', () => {
  it('names every field as the JSON Schemas do, with omitempty on exactly the optional ones', async () => {
    for (const [definitions, go] of [
      [
        'tools/otogen/test/fixtures/inventory/definitions.ts',
        'tools/otogen/test/fixtures/inventory/generated/definitions.go',
      ],
      ['tools/otogen/test/fixtures/kitchen/definitions/menu.ts', undefined],
    ] as [string, string | undefined][]) {
      const files = [{ fileName: definitions, text: await readFile(join(root, definitions), 'utf8') }];
      if (definitions.includes('kitchen')) {
        const orders = 'tools/otogen/test/fixtures/kitchen/definitions/orders.ts';
        files.push({ fileName: orders, text: await readFile(join(root, orders), 'utf8') });
      }
      const model = parseDefinitions(files);
      const rendered = render(model, { definitions: [definitions], out: 'out' });
      const text =
        go === undefined
          ? (rendered.find((file) => file.path === 'definitions.go')?.text ?? '')
          : await readFile(join(root, go), 'utf8');
      const expected = Object.fromEntries(
        model.objects.map((object) => [
          object.name,
          object.fields.map((field) => (field.optional ? `${field.name},omitempty` : field.name)),
        ]),
      );
      expect(jsonNames(text)).toEqual(expected);
    }
  });

  it('keeps an acronym field on the wire as it is named, where oto alone would lower its first letter', async () => {
    const go = await readFile(join(root, 'tools/otogen/test/fixtures/inventory/generated/definitions.go'), 'utf8');
    expect(go).toContain('Sku string `json:"sku" example:"TAC-0001"`');
  });

  const go = (() => {
    try {
      return execFileSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  })();

  it.skipIf(go === '')('is gofmt-clean and passes go vet', async () => {
    for (const file of fixtures) {
      expect(execFileSync('gofmt', ['-l', join(root, file)], { encoding: 'utf8' })).toBe('');
      const module = await mkdtemp(join(tmpdir(), 'definitions-go-'));
      try {
        await writeFile(join(module, 'go.mod'), 'module example.com/definitions\n\ngo 1.19\n');
        await copyFile(join(root, file), join(module, 'definitions.go'));
        execFileSync(go, ['vet', './...'], {
          cwd: module,
          env: { ...process.env, GOFLAGS: '-mod=mod', GOCACHE: join(module, '.cache') },
        });
      } finally {
        await rm(module, { recursive: true, force: true });
      }
    }
  });

  if (go === '') {
    it('says why gofmt and go vet did not run', () => {
      console.info('definitions.go: no go on PATH, so gofmt and go vet were skipped (apt install golang-go runs them)');
      expect(go).toBe('');
    });
  }
});
