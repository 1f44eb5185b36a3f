import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseDefinitions, readDefinitions } from '@taco-run/otogen';
import { findOnPath } from '@taco-run/project/testing';
import { describe, expect, it } from 'vitest';
import renderPythonClient from '../python-client.js';

// The Python client renderer against the inventory fixture, whose definitions use every kind of field:
// its output is held to a committed golden file (UPDATE_GOLDEN=1 rewrites it), and where python3 is on
// PATH the golden module is run: it reads a Go server's nulls and a newer server's extra fields as the
// TypeScript clients do.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const golden = fileURLToPath(new URL('./golden/inventory_client.py', import.meta.url));
const run = promisify(execFile);

const python3 = findOnPath('python3');
if (python3 === undefined) process.stdout.write('python client checks skipped: no python3 on PATH\n');

async function rendered(): Promise<string> {
  const model = parseDefinitions(await readDefinitions(['tools/otogen/test/fixtures/inventory/definitions.ts'], root));
  const files = await renderPythonClient(model, { definitions: [], out: '' });
  expect(files.map((file) => file.path)).toEqual(['python/client.py']);
  return files[0]?.text ?? '';
}

describe('the Python client renderer', () => {
  it('renders the inventory fixture as the golden file has it', async () => {
    const text = await rendered();
    if (process.env.UPDATE_GOLDEN === '1') await writeFile(golden, text);
    expect(text).toBe(await readFile(golden, 'utf8'));
  });

  it.skipIf(python3 === undefined)('is Python that reads answers as the TypeScript clients do', async () => {
    const script = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("client", sys.argv[1])
client = importlib.util.module_from_spec(spec)
sys.modules["client"] = client
spec.loader.exec_module(client)
# A Go server's nulls for required lists and maps, an absent optional, and a field the definitions do not have.
item = client.Item.from_json({"sku": "T-1", "name": "Taco", "count": 2, "price": 1.5, "vegetarian": False,
  "storage": "frozen", "tags": None, "attributes": None, "surprise": 1})
print(json.dumps({"tags": item.tags, "attributes": item.attributes, "supplier": item.supplier,
  "surprise": hasattr(item, "surprise"), "back": item.to_json()}, sort_keys=True))
`;
    const { stdout } = await run(python3 ?? 'python3', ['-c', script, golden], {
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    expect(JSON.parse(stdout)).toEqual({
      tags: [],
      attributes: {},
      supplier: null,
      surprise: false,
      back: {
        sku: 'T-1',
        name: 'Taco',
        count: 2,
        price: 1.5,
        vegetarian: false,
        storage: 'frozen',
        tags: [],
        attributes: {},
      },
    });
  });
});
