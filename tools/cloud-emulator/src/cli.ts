import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCloud } from './cloud.js';

/**
 * `pnpm dev:cloud`: tacoserver and tacoclient as they run on Cloud Run, on
 * this machine. Each runs under runsd in cloud mode with a service account
 * of its own; tacoserver is private and only tacoclient may invoke it;
 * tacoclient admits the developer. Ctrl-C stops everything.
 */
const usage = `usage: cloud-emulator [--deterministic | --project-hash <hash>]
  --project-hash <hash>  the cloud hash services call each other with (default: emu4tacos0)
  --deterministic        use https://<svc>-<project number>.<region>.run.app instead of the hash`;

export const stateFile = '.cloud-emulator.json';

async function main(argv: string[]): Promise<void> {
  let projectHash: string | undefined = 'emu4tacos0';
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--deterministic') projectHash = undefined;
    else if (argv[i] === '--project-hash' && argv[i + 1] !== undefined) projectHash = argv[++i];
    else {
      process.stderr.write(`${usage}\n`);
      process.exit(2);
    }
  }
  const root = process.cwd();
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
  await writeFile(
    join(root, stateFile),
    `${JSON.stringify({ audience: tacoclient.url, localUrl: tacoclient.localUrl, tokenHost: cloud.userMetadata.host }, null, 2)}\n`,
  );

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
    await rm(join(root, stateFile), { force: true });
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main(process.argv.slice(2)).catch((error: Error) => {
  process.stderr.write(`cloud-emulator: ${error.message}\n`);
  process.exit(1);
});
