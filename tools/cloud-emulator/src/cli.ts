import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import packageJson from '../package.json' with { type: 'json' };
import { startCloud } from './cloud.js';
import { identityToken, readState, removeState, writeState } from './state.js';

const usage = `cloud-emulator ${packageJson.version}: the services as they run on Cloud Run (private, authenticated, under runsd), on this machine.

usage:
  cloud-emulator [start] [--project-hash <hash> | --deterministic]   (pnpm dev:cloud) start everything; Ctrl-C stops it
  cloud-emulator token                                               (pnpm --silent emulator:token) print your identity
                                                                     token for the running emulator's public service

options:
  --project-hash <hash>  the cloud hash services call each other with (default: emu4tacos0)
  --deterministic        use https://<svc>-<project number>.<region>.run.app instead of the hash
  -h, --help             this text
  --version              the emulator's version`;

const commandLine = {
  name: 'cloud-emulator',
  version: packageJson.version,
  usage,
  options: { 'project-hash': { type: 'string' }, deterministic: { type: 'boolean' } },
  positionals: true,
} satisfies CommandLine<Options>;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [command = 'start', ...extra] = positionals;
  if (extra.length > 0) return reportUsageError(commandLine, `unexpected argument "${extra[0]}"`);
  if (command === 'token') {
    if (values.deterministic || values['project-hash'] !== undefined) {
      return reportUsageError(commandLine, 'token takes no options; they go with start');
    }
    return printToken(process.cwd());
  }
  if (command !== 'start') return reportUsageError(commandLine, `unknown command ${command}`);
  if (values.deterministic && values['project-hash'] !== undefined) {
    return reportUsageError(commandLine, '--deterministic and --project-hash cannot go together');
  }
  const projectHash = values.deterministic ? undefined : (values['project-hash'] ?? 'emu4tacos0');
  if (projectHash !== undefined && !/^[a-z\d]+$/.test(projectHash)) {
    return reportUsageError(commandLine, `--project-hash must be lowercase letters and digits, got "${projectHash}"`);
  }
  await start(process.cwd(), projectHash);
  return 0;
}

/**
 * `pnpm dev:cloud`: tacoserver and tacoclient as they run on Cloud Run, on
 * this machine. Each runs under runsd in cloud mode with a service account
 * of its own; tacoserver is private and only tacoclient may invoke it;
 * tacoclient admits the developer. Ctrl-C stops everything.
 */
async function start(root: string, projectHash: string | undefined): Promise<void> {
  const runsd = join(root, 'tools/runsd/dist/runsd.js');
  const bundle = (name: string) => join(root, 'services', name, 'dist/main.js');
  for (const file of [runsd, bundle('tacoserver'), bundle('tacoclient')]) {
    if (!existsSync(file)) throw new Error(`${file} is missing; run \`pnpm build\` from the repository root first`);
  }

  process.stdout.write(
    'cloud-emulator: starting the metadata servers, the front door and both services under runsd...\n',
  );
  const width = 'tacoserver'.length;
  const cloud = await startCloud({
    runsd,
    projectHash,
    services: [
      {
        name: 'tacoserver',
        bundle: bundle('tacoserver'),
        invokers: ['tacoclient@taco-project.iam.gserviceaccount.com'],
      },
      { name: 'tacoclient', bundle: bundle('tacoclient'), invokers: ['developer@example.com'] },
    ],
    onLine: (service, line) => process.stdout.write(`${service.padEnd(width)} | ${line}\n`),
  });
  const tacoclient = cloud.service('tacoclient');
  await writeState(root, {
    audience: tacoclient.url,
    localUrl: tacoclient.localUrl,
    tokenHost: cloud.userMetadata.host,
  });

  for (const service of cloud.services.values()) {
    const invokers = [...(cloud.frontDoor.service(service.name)?.invokers ?? [])].join(', ');
    process.stdout.write(
      `cloud-emulator: ${service.name} is ${service.url}, here at ${service.localUrl} (runs as ${service.serviceAccount}; invokers: ${invokers})\n`,
    );
  }
  process.stdout.write(`
Call tacoclient as ${cloud.user}, as you would on Cloud Run:

  curl -H "Authorization: Bearer $(pnpm --silent emulator:token)" ${tacoclient.localUrl}

Ctrl-C stops everything.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('cloud-emulator: stopping\n');
    await cloud.close();
    await removeState(root);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

async function printToken(root: string): Promise<number> {
  const state = await readState(root);
  if (state === undefined) {
    process.stderr.write('cloud-emulator: no emulator is running here; start one with `pnpm dev:cloud`\n');
    return 1;
  }
  try {
    process.stdout.write(`${await identityToken(state.tokenHost, state.audience)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(
      `cloud-emulator: cannot get a token from the emulator (${(error as Error).message}); is \`pnpm dev:cloud\` still running?\n`,
    );
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // A started emulator runs until a signal stops it.
    if (code !== 0) process.exit(code);
  },
  (error: Error) => {
    process.stderr.write(`cloud-emulator: ${error.message}\n`);
    process.exit(1);
  },
);
