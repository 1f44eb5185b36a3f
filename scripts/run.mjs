// `pnpm <script>` for the tools: builds what the script needs, quietly, then
// runs the tool in this process. Every script is then one short command, so
// pnpm's echo of it is one short line, and the tool's own output comes first.
// Plain JavaScript: it runs before anything is built.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Each script: the tools it builds first (their tsup configs), whether the
 * services' bundles are built too (what `pnpm build` does), then the tool it
 * runs with the arguments it always passes.
 */
const scripts = {
  dev: {
    tools: ['tools/runsd', 'tools/dev-console', 'tools/dev-runner'],
    run: 'tools/dev-runner/dist/cli.js',
    args: ['--watch'],
  },
  start: { services: true, tools: ['tools/dev-console', 'tools/dev-runner'], run: 'tools/dev-runner/dist/cli.js' },
  'dev:cloud': {
    services: true,
    tools: ['tools/dev-console', 'tools/cloud-emulator'],
    run: 'tools/cloud-emulator/dist/cli.js',
  },
  'emulator:token': { tools: ['tools/cloud-emulator'], run: 'tools/cloud-emulator/dist/cli.js', args: ['token'] },
  'emulator:call': { tools: ['tools/cloud-emulator'], run: 'tools/cloud-emulator/dist/cli.js', args: ['call'] },
  'deploy:all': { tools: ['deploy'], run: 'deploy/dist/cli.js', args: ['all'] },
  'deploy:one': { tools: ['deploy'], run: 'deploy/dist/cli.js', args: ['one'] },
  'db:reset': { tools: ['tools/dev-runner'], run: 'tools/dev-runner/dist/db.js', args: ['reset'] },
  'db:psql': { tools: ['tools/dev-runner'], run: 'tools/dev-runner/dist/db.js', args: ['psql'] },
  'new:service': { tools: ['tools/scaffold'], run: 'tools/scaffold/dist/cli.js' },
  generate: { tools: ['tools/otogen'], run: 'tools/otogen/dist/cli.js', args: ['generate'] },
  otogen: { tools: ['tools/otogen'], run: 'tools/otogen/dist/cli.js' },
  runsd: { tools: ['tools/runsd'], run: 'tools/runsd/dist/runsd.js' },
};

const [name, ...rest] = process.argv.slice(2);
const script = scripts[name];
if (script === undefined) {
  console.error(`scripts/run.mjs: no script "${name}"; one of: ${Object.keys(scripts).join(', ')}`);
  process.exit(2);
}

/** Runs a build step with its output held back: shown only if the step fails, which then ends the script. */
function quietly(what, command, args, cwd) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status === 0) return;
  process.stderr.write(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  console.error(result.error === undefined ? `${what} failed to build` : `${what}: ${result.error.message}`);
  process.exit(1);
}

if (script.services) {
  // The same filter as `pnpm build`: runsd and every workspace package under services/.
  quietly(
    'the services',
    'pnpm',
    ['--silent', '--filter', '@taco-run/runsd', '--filter', './services/*', 'build'],
    root,
  );
}
const tsup = join(root, 'node_modules/tsup/dist/cli-default.js');
for (const tool of script.tools) {
  quietly(tool, process.execPath, [tsup, '--config', join(tool, 'tsup.config.ts'), '--silent'], root);
}

const cli = join(root, script.run);
process.argv = [process.argv[0], cli, ...(script.args ?? []), ...rest];
await import(pathToFileURL(cli).href);
