#!/usr/bin/env node
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DefinitionError } from './errors.js';
import { generateTarget, readDefinitions, staleFiles, type Target } from './generate.js';
import { parseDefinitions } from './parser.js';

const usage = `usage:
  otogen model [definition.ts ...]   print the JSON model (default: the first target's definitions)
  otogen generate [--check]          write every target in otogen.config.json, or with --check
                                     exit 1 naming each file that differs from what the definitions give
options:
  --config <file>                    default: otogen.config.json in the working directory`;

interface Config {
  targets: Target[];
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const configIndex = args.indexOf('--config');
  const configPath = configIndex === -1 ? 'otogen.config.json' : args.splice(configIndex, 2)[1];
  const [command, ...rest] = args;
  const root = process.cwd();
  if (command === 'model') {
    const paths = rest.length > 0 ? rest : ((await loadConfig(root, configPath)).targets[0]?.definitions ?? []);
    const model = parseDefinitions(await readDefinitions(paths, root));
    process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    return 0;
  }
  if (command === 'generate') {
    const check = rest.includes('--check');
    const unknown = rest.filter((arg) => arg !== '--check');
    if (unknown.length > 0) return fail(`unknown argument ${unknown[0]}\n${usage}`);
    const config = await loadConfig(root, configPath);
    let stale = 0;
    for (const target of config.targets) {
      const files = await generateTarget(target, root);
      if (check) {
        const differing = await staleFiles(target, files, root);
        for (const path of differing) process.stderr.write(`otogen: ${path} is stale; run \`pnpm generate\`\n`);
        stale += differing.length;
        continue;
      }
      for (const file of files) {
        const path = join(root, target.out, file.path);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, file.text);
      }
      process.stdout.write(
        `otogen: wrote ${files.length} files to ${target.out} from ${target.definitions.join(', ')}\n`,
      );
    }
    if (check && stale === 0) process.stdout.write(`otogen: ${config.targets.length} targets up to date\n`);
    return stale === 0 ? 0 : 1;
  }
  return fail(
    command === undefined || command === 'help' || command === '--help'
      ? usage
      : `unknown command ${command}\n${usage}`,
  );
}

async function loadConfig(root: string, path = 'otogen.config.json'): Promise<Config> {
  let text: string;
  try {
    text = await readFile(join(root, path), 'utf8');
  } catch {
    throw new UsageError(`cannot read ${path}; run otogen from the repository root or pass --config`);
  }
  const config = JSON.parse(text) as Partial<Config>;
  if (
    !Array.isArray(config.targets) ||
    config.targets.some((t) => !Array.isArray(t.definitions) || typeof t.out !== 'string')
  ) {
    throw new UsageError(`${path} must be {"targets": [{"definitions": ["file.ts"], "out": "folder"}]}`);
  }
  return config as Config;
}

class UsageError extends Error {}

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof DefinitionError) {
      process.stderr.write(`otogen: the definitions have ${error.problems.length} problem(s):\n${error.message}\n`);
    } else if (error instanceof UsageError) {
      process.stderr.write(`otogen: ${error.message}\n`);
    } else {
      process.stderr.write(`otogen: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
