#!/usr/bin/env node
import { MigrationError } from '@taco-run/database/migrate';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { ManifestError } from '@taco-run/project/services';
import packageJson from '../package.json' with { type: 'json' };
import { type Config, ConfigError, loadConfig } from './config.js';
import { generateDatabases } from './databases.js';
import { DefinitionError } from './errors.js';
import { FormatError } from './format.js';
import {
  defaultTarget,
  differingFiles,
  generateTarget,
  readDefinitions,
  staleFiles,
  writeChangedFiles,
  writeFiles,
} from './generate.js';
import { parseDefinitions } from './parser.js';
import { RendererError } from './renderers.js';

const usage = `otogen ${packageJson.version}: TypeScript API definitions to a server, a client, schemas and docs.

usage:
  otogen generate [--check]          write every target in otogen.config.json; with --check, write
                                     nothing and exit 1 naming each file that differs from what the
                                     definitions give
  otogen model [definition.ts ...]   print the JSON model (default: the first target's definitions)
  otogen go                          print the first target's API as oto definitions (definitions.go,
                                     which generate also writes), for a Go team to run oto on

options:
  --config <file>                    default: otogen.config.json in the working directory if there is
                                     one, else every .ts file in packages/definitions/src, generated
                                     into packages/generated
  -h, --help                         this text
  --version                          otogen's version`;

const commandLine = {
  name: 'otogen',
  version: packageJson.version,
  usage,
  options: { config: { type: 'string' }, check: { type: 'boolean' } },
  positionals: true,
} satisfies CommandLine<Options>;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  const configPath = values.config;
  const root = process.cwd();
  if (command === 'model') {
    if (values.check) return reportUsageError(commandLine, '--check goes with generate, not model');
    const paths = rest.length > 0 ? rest : ((await loadConfig(root, configPath)).targets[0]?.definitions ?? []);
    const model = parseDefinitions(await readDefinitions(paths, root));
    process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    return 0;
  }
  if (command === 'go') {
    if (values.check || rest.length > 0) return reportUsageError(commandLine, 'go takes no arguments or --check');
    const [target] = (await loadConfig(root, configPath)).targets;
    const go = (await generateTarget(target ?? defaultTarget, root)).find((file) => file.path === 'definitions.go');
    process.stdout.write(go?.text ?? '');
    return 0;
  }
  if (command === 'generate') {
    if (rest.length > 0) return reportUsageError(commandLine, `generate takes no arguments, not "${rest[0]}"`);
    return generate(await loadConfig(root, configPath), root, values.check === true);
  }
  return reportUsageError(commandLine, command === undefined ? 'missing command' : `unknown command ${command}`);
}

async function generate(config: Config, root: string, check: boolean): Promise<number> {
  let stale = 0;
  for (const target of config.targets) {
    const files = await generateTarget(target, root);
    if (check) {
      const differing = await staleFiles(target, files, root);
      for (const path of differing) process.stderr.write(`otogen: ${path} is stale; run \`pnpm generate\`\n`);
      stale += differing.length;
      continue;
    }
    const written = await writeFiles(target, files, root);
    const what =
      written.length === 0
        ? `${target.out} is up to date`
        : `wrote ${written.length} of ${files.length} files to ${target.out}`;
    process.stdout.write(`otogen: ${what} from ${target.definitions.join(', ')}\n`);
  }
  // Each service's row types, from its migrations: paths from the project's root.
  const databases = await generateDatabases(root);
  if (check) {
    const differing = await differingFiles(databases, '', root);
    for (const path of differing) process.stderr.write(`otogen: ${path} is stale; run \`pnpm generate\`\n`);
    stale += differing.length;
  } else {
    for (const path of await writeChangedFiles(databases, '', root)) {
      process.stdout.write(`otogen: wrote ${path} from its migrations\n`);
    }
  }
  if (check && stale === 0) process.stdout.write(`otogen: ${config.targets.length} targets up to date\n`);
  return stale === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof DefinitionError) {
      process.stderr.write(`otogen: the definitions have ${error.problems.length} problem(s):\n${error.message}\n`);
    } else if (
      error instanceof ConfigError ||
      error instanceof FormatError ||
      error instanceof RendererError ||
      error instanceof MigrationError
    ) {
      process.stderr.write(`otogen: ${error.message}\n`);
    } else if (error instanceof ManifestError) {
      // The docs say where each API is served, from the manifests: a wrong one is said as every command says it.
      process.stderr.write(`${error.problems.map((problem) => `otogen: ${problem}`).join('\n')}\n`);
    } else {
      process.stderr.write(`otogen: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    }
    process.exitCode = 1;
  },
);
