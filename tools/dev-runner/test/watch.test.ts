import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateTarget, loadConfig, staleFiles } from '@taco-run/otogen';
import { build } from 'tsup';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunner } from './runner.js';

// `pnpm dev` in a project of its own, so that the test can edit its code and its definitions: one
// service, which answers with its greeting and the fields otogen's model gives its request object.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'tools/dev-runner/dist/cli.js');

const definitions = (fields: string) => `/** Greeter greets. */
export interface Greeter {
  /** Greet says hello. */
  greet(request: GreetRequest): GreetResponse;
}

/** GreetRequest is who to greet. */
export interface GreetRequest {
${fields}
}

/** GreetResponse is the greeting. */
export interface GreetResponse {
  /** Greeting is what to say. */
  greeting: string;
}
`;

const main = `import { createServer } from 'node:http';
import model from '../../../packages/generated/model.json' with { type: 'json' };
import { greeting } from './greeting.js';

const fields = model.objects.find((object) => object.name === 'GreetRequest')?.fields.map((field) => field.name);
createServer((request, response) => {
  if (request.url === '/crash') process.exit(3);
  response.end(request.url === '/healthz' ? 'ok' : \`\${greeting}: \${fields?.join(', ')}\`);
}).listen(Number(process.env.PORT), () => console.log('hello is listening'));
process.on('SIGTERM', () => process.exit(0));
`;

let work: string;

beforeAll(async () => {
  await build({ config: join(root, 'tools/dev-runner/tsup.config.ts'), silent: true });
  work = await mkdtemp(join(tmpdir(), 'dev-runner-watch-'));
  // The project's own Biome settings format the generated code.
  for (const file of ['biome.jsonc', '.gitignore']) await cp(join(root, file), join(work, file));
  await mkdir(join(work, 'packages/definitions/src'), { recursive: true });
  await writeFile(
    join(work, 'packages/definitions/src/greeter.ts'),
    definitions('  /** Name is who. */\n  name: string;'),
  );
  await mkdir(join(work, 'services/hello/src'), { recursive: true });
  await writeFile(join(work, 'services/hello/service.json'), JSON.stringify({ port: 8095 }));
  await writeFile(join(work, 'services/hello/package.json'), JSON.stringify({ name: 'hello', type: 'module' }));
  await writeFile(join(work, 'services/hello/src/main.ts'), main);
  await writeFile(join(work, 'services/hello/src/greeting.ts'), "export const greeting = 'hello';\n");
});

afterAll(() => rm(work, { recursive: true, force: true }));

describe('pnpm dev (dev-runner --watch)', () => {
  it('generates, builds and starts quietly; rebuilds and restarts on a change; survives broken code, broken definitions and a crash; stops cleanly', {
    timeout: 90_000,
  }, async () => {
    const runner = startRunner(cli, ['--watch', '--free-ports'], { cwd: work });
    const answer = async (port: string, path = '/') => (await request(`http://127.0.0.1:${port}${path}`)).body.text();
    try {
      // The generated code did not exist: it is written first, and the build is one line, with where the service listens.
      await runner.waitFor(/^dev-runner: regenerated 16 files in \d+ ms$/);
      const [, port = ''] = await runner.waitFor(/^dev-runner: hello built in \d+ ms, on http:\/\/localhost:(\d+)$/);
      await runner.waitFor(/^hello \| hello is listening$/);
      expect(runner.output.slice(0, 4)).toEqual([
        // The console's address first: the services send it their spans.
        expect.stringMatching(
          /^dev-runner: dev console on http:\/\/localhost:\d+ \(services, API explorer, traces, data\)$/,
        ),
        expect.stringMatching(/^dev-runner: regenerated/),
        expect.stringMatching(/^dev-runner: hello built/),
        'hello | hello is listening',
      ]);
      expect(await answer(port)).toBe('hello: name');

      // A change to the service's code: rebuilt and restarted, and said so with how long it took.
      let mark = runner.output.length;
      await writeFile(join(work, 'services/hello/src/greeting.ts'), "export const greeting = 'hola';\n");
      await runner.waitFor(/^dev-runner: hello restarted, answering [\d.]+ s after the change \(build \d+ ms\)$/, {
        after: mark,
      });
      expect(await answer(port)).toBe('hola: name');

      // Broken code: the error at file:line, and the service keeps running the last good build.
      mark = runner.output.length;
      await writeFile(join(work, 'services/hello/src/greeting.ts'), "export const greeting = 'hola'\nconst = 1;\n");
      await runner.waitFor(/^dev-runner: hello failed to build; it keeps running on its last good build:$/, {
        after: mark,
      });
      await runner.waitFor(/^ {2}services\/hello\/src\/greeting\.ts:2:7: /, { after: mark });
      expect(await answer(port)).toBe('hola: name');
      mark = runner.output.length;
      await writeFile(join(work, 'services/hello/src/greeting.ts'), "export const greeting = 'hola';\n");
      await runner.waitFor(/^dev-runner: hello builds again, the same bundle as the one running/, { after: mark });

      // A new field in the definitions: otogen runs, and the service restarts with the new generated code.
      mark = runner.output.length;
      const withSalsa = '  /** Name is who. */\n  name: string;\n  /** Salsa is how hot. */\n  salsa?: string;';
      await writeFile(join(work, 'packages/definitions/src/greeter.ts'), definitions(withSalsa));
      await runner.waitFor(
        /^dev-runner: hello restarted, answering [\d.]+ s after the change \(regenerate \d+ ms, build \d+ ms\)$/,
        { after: mark },
      );
      expect(await answer(port)).toBe('hola: name, salsa');
      const [target] = (await loadConfig(work)).targets;
      if (target === undefined) throw new Error('no otogen target');
      expect(await staleFiles(target, await generateTarget(target, work), work)).toEqual([]);

      // A definition with a problem: file:line and the reason; nothing regenerated, nothing restarted.
      mark = runner.output.length;
      await writeFile(join(work, 'packages/definitions/src/greeter.ts'), definitions('  name: strin;'));
      await runner.waitFor(
        /^dev-runner: the definitions have 1 problem\(s\); the services keep running on the last good code:$/,
        {
          after: mark,
        },
      );
      await runner.waitFor(/^ {2}packages\/definitions\/src\/greeter\.ts:9: GreetRequest\.name is strin/, {
        after: mark,
      });
      expect(await answer(port)).toBe('hola: name, salsa');
      const model = JSON.parse(await readFile(join(work, 'packages/generated/model.json'), 'utf8')) as object;
      expect(JSON.stringify(model)).toContain('"salsa"');

      // A crash: one line, and the service comes back on the next change.
      mark = runner.output.length;
      await answer(port, '/crash').catch(() => '');
      await runner.waitFor(
        /^dev-runner: hello crashed \(exit code 3\); the others keep running, and it restarts on the next change$/,
        {
          after: mark,
        },
      );
      await writeFile(join(work, 'services/hello/src/greeting.ts'), "export const greeting = 'hello again';\n");
      await runner.waitFor(/^dev-runner: hello restarted/, { after: mark });
      expect(await answer(port)).toBe('hello again: name, salsa');

      // Ctrl-C stops everything, and that is a success.
      expect(await runner.interrupt()).toEqual([0, null]);
    } finally {
      await runner.kill();
    }
  });
});
