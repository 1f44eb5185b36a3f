import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseDefinitions, render } from '../src/index.js';

// definitions.go, the API as oto definitions: its JSON names are ours field for field, and,
// where a Go toolchain is at hand, it is gofmt-clean and passes go vet.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixtures = [
  'tools/otogen/test/fixtures/inventory/generated/definitions.go',
  'fixtures/taco/packages/generated/definitions.go',
];

/** Each struct's fields as the Go file puts them on the wire: `json:"name"` tags, and whether omitempty. */
function jsonNames(go: string): Record<string, string[]> {
  const structs: Record<string, string[]> = {};
  for (const [, name, body = ''] of go.matchAll(/^type (\w+) struct(?: \{\n([\s\S]*?)\n\}|\{\})$/gm)) {
    structs[name as string] = [...body.matchAll(/`json:"([^"]+)"/g)].map(([, tag]) => tag as string);
  }
  return structs;
}

describe('definitions.go', () => {
  it.each([
    ['taco', 'fixtures/taco/packages/generated'],
    ['inventory', 'tools/otogen/test/fixtures/inventory/generated'],
  ])('names every %s field as its JSON Schema does, with omitempty on exactly the optional ones', async (_api, out) => {
    const go = await readFile(join(root, out, 'definitions.go'), 'utf8');
    const openapi = JSON.parse(await readFile(join(root, out, 'docs/openapi.json'), 'utf8')) as {
      components: {
        schemas: Record<string, { type?: string; properties?: Record<string, unknown>; required?: string[] }>;
      };
    };
    const expected = Object.fromEntries(
      Object.entries(openapi.components.schemas)
        .filter(([name, schema]) => schema.type === 'object' && name !== 'Error')
        .map(([name, schema]) => [
          name,
          Object.keys(schema.properties ?? {}).map((field) =>
            schema.required?.includes(field) ? field : `${field},omitempty`,
          ),
        ]),
    );
    expect(jsonNames(go)).toEqual(expected);
  });

  it('renders two definitions files that share a type as one package', () => {
    const files = ['menu.ts', 'orders.ts'].map((file) => {
      const fileName = `tools/otogen/test/fixtures/kitchen/definitions/${file}`;
      return { fileName, text: readFileSync(join(root, fileName), 'utf8') };
    });
    const go = render(parseDefinitions(files), { definitions: [], out: 'out' }).find(
      (file) => file.path === 'definitions.go',
    )?.text;
    expect(go).toContain('\tPlaceOrder(PlaceOrderRequest) PlaceOrderResponse');
    expect(go).toContain('\tDishes []Dish `json:"dishes"`');
  });

  it('keeps an acronym field on the wire as it is named, where oto alone would lower its first letter', async () => {
    const go = await readFile(join(root, 'tools/otogen/test/fixtures/inventory/generated/definitions.go'), 'utf8');
    expect(go).toContain('Sku string `json:"sku"`');
  });

  // oto's parser reads a comment line matching `^.*: .*` as `key: <JSON>` metadata and drops it
  // when the rest is not JSON; `example` metadata on a field is its Field.Example.
  it.each([
    ['taco', 'fixtures/taco/packages/generated'],
    ['inventory', 'tools/otogen/test/fixtures/inventory/generated'],
  ])('loses no %s comment line to oto, and gives oto the example of every field that has one', async (_api, out) => {
    const go = await readFile(join(root, out, 'definitions.go'), 'utf8');
    const model = JSON.parse(await readFile(join(root, out, 'model.json'), 'utf8')) as {
      objects: { name: string; fields: { name: string; example?: unknown }[] }[];
    };
    const dropped: string[] = [];
    const examples: Record<string, unknown> = {};
    let comment: string[] = [];
    let struct = '';
    for (const line of go.split('\n')) {
      const text = /^\s*\/\/ ?(.*)$/.exec(line)?.[1];
      if (text !== undefined) {
        comment.push(text);
        continue;
      }
      struct = /^type (\w+) struct/.exec(line)?.[1] ?? struct;
      const field = /^\t\w+ \S+ `json:"([^",]+)/.exec(line)?.[1];
      for (const commentLine of comment) {
        if (!/^.*: .*/.test(commentLine)) continue;
        const at = commentLine.indexOf(': ');
        const [key, value] = [commentLine.slice(0, at), commentLine.slice(at + 2)];
        try {
          const parsed: unknown = JSON.parse(value);
          if (key === 'example' && field !== undefined) examples[`${struct}.${field}`] = parsed;
        } catch {
          dropped.push(commentLine);
        }
      }
      comment = [];
    }
    expect(dropped).toEqual([]);
    const expected = Object.fromEntries(
      model.objects.flatMap((object) =>
        object.fields.flatMap((field) =>
          field.example === undefined ? [] : [[`${object.name}.${field.name}`, field.example]],
        ),
      ),
    );
    expect(Object.keys(expected).length).toBeGreaterThan(0);
    expect(examples).toEqual(expected);
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
