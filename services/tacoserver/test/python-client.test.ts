import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serviceTestDatabase } from '@taco-run/database/testing';
import { type ServiceProcess, startService } from '@taco-run/project/process';
import { findOnPath } from '@taco-run/project/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The Python client that tools/renderers/python-client.ts generates into packages/generated/python, run by
// python3 against tacoserver's bundle: the taco line, and a validation failure as RpcError.

const bundle = fileURLToPath(new URL('../dist/main.js', import.meta.url));
// tacoserver keeps each order in its own database: a migrated one, as the deploy leaves it.
const database = serviceTestDatabase(fileURLToPath(new URL('../../../', import.meta.url)), 'tacoserver');
beforeAll(database.start, 60_000);
afterAll(database.stop);
const pythonClient = fileURLToPath(new URL('../../../packages/generated/python', import.meta.url));
const run = promisify(execFile);

const python3 = findOnPath('python3');
if (python3 === undefined) process.stdout.write('Python client test skipped: no python3 on PATH\n');

const script = `
import json, sys
from client import EatTacoRequest, RpcError, TacoServiceClient

client = TacoServiceClient(sys.argv[1], timeout=5)
print(client.eat_taco(EatTacoRequest(name="Sammy Sosa", tacos=["Chicken", "Chorizo"])).taco_consumption_status)
try:
    client.eat_taco(EatTacoRequest(name="", tacos=["Fish"]))
except RpcError as error:
    print(json.dumps({"code": error.code, "status": error.status, "message": error.message, "details": error.details}))
`;

describe.skipIf(python3 === undefined || database.missing !== undefined)('the generated Python client', () => {
  let tacoserver: ServiceProcess;

  beforeAll(async () => {
    tacoserver = await startService(bundle, { DATABASE_URL: database.url });
  });

  afterAll(async () => {
    expect(await tacoserver?.stop()).toBe(0);
  });

  it('reads the taco line from tacoserver, and a validation failure as RpcError invalid_argument', async () => {
    const { stdout } = await run(python3 ?? 'python3', ['-c', script, `${tacoserver.origin}/oto/`], {
      cwd: pythonClient,
      // No __pycache__ in the generated folder.
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    });
    const [line, failure] = stdout.trim().split('\n');
    expect(line).toBe('Sammy Sosa has consumed 2 tacos');
    expect(JSON.parse(failure ?? '')).toEqual({
      code: 'invalid_argument',
      status: 400,
      message: 'EatTacoRequest.Name is required',
      details: [{ path: 'name', message: 'EatTacoRequest.Name is required' }],
    });
  });
});
