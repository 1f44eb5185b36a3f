import { execFileSync } from 'node:child_process';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import packageJson from '../package.json' with { type: 'json' };
import { ConfigError, readConfig } from './config.js';
import { deployAllPlan, deployOnePlan, type ServiceName, services } from './plan.js';
import { printNextSteps, runPlan, StepFailed } from './run.js';

const usage = `deploy ${packageJson.version}: builds the service images with Cloud Build and deploys them to Cloud Run, privately.

usage:
  pnpm deploy:all [--dry-run]             build and deploy every service
  pnpm deploy:one <service> [--dry-run]   the same for one service (${services.join(' or ')})

options:
  --dry-run                 print every command and run none
  -h, --help                this text
  --version                 the deploy tool's version

environment:
  GOOGLE_CLOUD_PROJECT      the project ID (required)
  CLOUD_RUN_PROJECT_HASH    the project's cloud hash, also read as cloudhash (required with tacoclient)
  REGION                    default us-central1
  ARTIFACT_REPOSITORY       default taco-run
  IMAGE_TAG                 default: the git commit, with -dirty when the working tree has changes`;

const commandLine = {
  name: 'deploy',
  version: packageJson.version,
  usage,
  options: { 'dry-run': { type: 'boolean' } },
  positionals: true,
} satisfies CommandLine<Options>;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const dryRun = parsed.values['dry-run'] === true;
  const [command, service, ...extra] = parsed.positionals;
  if (command !== 'all' && command !== 'one') {
    return reportUsageError(commandLine, command === undefined ? 'missing command' : `unknown command ${command}`);
  }
  if (command === 'all' && service !== undefined) {
    return reportUsageError(commandLine, `deploy:all takes no service, not "${service}"; use deploy:one ${service}`);
  }
  if (command === 'one' && !isServiceName(service)) {
    return reportUsageError(commandLine, `deploy:one needs a service: ${services.join(' or ')}`);
  }
  if (extra.length > 0) return reportUsageError(commandLine, `unexpected argument "${extra[0]}"`);
  const cwd = process.cwd();
  const commit = gitCommit(cwd);
  const config = readConfig(process.env, commit?.tag, { needsHash: command === 'all' || service === 'tacoclient' });
  const steps = command === 'all' ? deployAllPlan(config) : deployOnePlan(config, service as ServiceName);
  process.stdout.write(
    `${dryRun ? 'Dry run: these are the commands' : 'Deploying'} for project ${config.project} in ${config.region} (images tagged ${config.tag}).\n`,
  );
  if (commit?.dirty && process.env.IMAGE_TAG === undefined) {
    // gcloud builds submit uploads the working tree, so the image holds changes the commit does not.
    process.stdout.write('The working tree has uncommitted changes: the images hold them, so their tag says -dirty.\n');
  }
  await runPlan(steps, { cwd, dryRun });
  await printNextSteps(config, command === 'one' ? (service as ServiceName) : 'tacoclient', { cwd, dryRun });
  return 0;
}

function isServiceName(name: string | undefined): name is ServiceName {
  return services.includes(name as ServiceName);
}

/** The commit the images are built from, and whether the working tree differs from it. */
function gitCommit(cwd: string): { tag: string; dirty: boolean } | undefined {
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    const commit = git('rev-parse', '--short=12', 'HEAD');
    if (commit === '') return undefined;
    // Untracked files count: the upload takes every file that .gitignore does not leave out.
    const dirty = git('status', '--porcelain', '--untracked-files=normal') !== '';
    return { tag: dirty ? `${commit}-dirty` : commit, dirty };
  } catch {
    return undefined;
  }
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
