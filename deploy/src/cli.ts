import { execFileSync } from 'node:child_process';
import { ConfigError, readConfig } from './config.js';
import { deployAllPlan, deployOnePlan, type ServiceName, services } from './plan.js';
import { printNextSteps, runPlan, StepFailed } from './run.js';

const usage = `usage:
  pnpm deploy:all [--dry-run]             build and deploy tacoserver and tacoclient, both private
  pnpm deploy:one <service> [--dry-run]   the same for one service (${services.join(' or ')})

environment:
  GOOGLE_CLOUD_PROJECT      the project ID (required)
  CLOUD_RUN_PROJECT_HASH    the project's cloud hash, also read as cloudhash (required with tacoclient)
  REGION                    default us-central1
  ARTIFACT_REPOSITORY       default taco-run
  IMAGE_TAG                 default: the git commit`;

async function main(argv: string[]): Promise<number> {
  const dryRun = argv.includes('--dry-run');
  const [command, service] = argv.filter((arg) => arg !== '--dry-run');
  if (command !== 'all' && command !== 'one') return fail(usage);
  if (command === 'one' && !services.includes(service as ServiceName))
    return fail(`deploy:one needs a service: ${services.join(' or ')}\n\n${usage}`);
  const cwd = process.cwd();
  const config = readConfig(process.env, gitCommit(cwd), { needsHash: command === 'all' || service === 'tacoclient' });
  const steps = command === 'all' ? deployAllPlan(config) : deployOnePlan(config, service as ServiceName);
  process.stdout.write(
    `${dryRun ? 'Dry run: these are the commands' : 'Deploying'} for project ${config.project} in ${config.region} (images tagged ${config.tag}).\n`,
  );
  await runPlan(steps, { cwd, dryRun });
  await printNextSteps(config, command === 'one' ? (service as ServiceName) : 'tacoclient', { cwd, dryRun });
  return 0;
}

function gitCommit(cwd: string): string | undefined {
  try {
    return (
      execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim() || undefined
    );
  } catch {
    return undefined;
  }
}

function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof StepFailed)
      process.stderr.write(`\ndeploy: ${error.message}\n`);
    else process.stderr.write(`\ndeploy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
