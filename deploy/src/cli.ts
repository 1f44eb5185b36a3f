import { execFileSync } from 'node:child_process';
import type { Model } from '@taco-run/otogen/model';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { loadProject, ManifestError, readGeneratedModel } from '@taco-run/project/services';
import { didYouMean } from '@taco-run/project/spelling';
import packageJson from '../package.json' with { type: 'json' };
import { costNote } from './cloud-sql.js';
import { ConfigError, readConfig } from './config.js';
import { deployAllPlan, deployOnePlan } from './plan.js';
import { printNextSteps, reportDrift, runPlan, StepFailed } from './run.js';

const usage = `deploy ${packageJson.version}: builds the services' images with Cloud Build and deploys them to Cloud Run.

usage:
  pnpm deploy:all [--dry-run] [--prune]             every service in services/, then every grant
                                                    their service.json files declare
  pnpm deploy:one <service> [--dry-run] [--prune]   one service, with the grants on its edges

options:
  --dry-run                 print every command and run none
  --prune                   remove roles/run.invoker grants that no service.json declares
                            (without it they are only listed); Cloud SQL instances and
                            databases are only ever listed
  -h, --help                this text
  --version                 the deploy tool's version

environment:
  GOOGLE_CLOUD_PROJECT      the project ID (required)
  CLOUD_RUN_PROJECT_HASH    the project's cloud hash, also read as cloudhash; checked against the
                            URL Cloud Run gives, or, when unset, read off it
  REGION                    default us-central1
  ARTIFACT_REPOSITORY       default taco-run
  IMAGE_TAG                 default: the git commit, with -dirty when the working tree has changes
  CLOUD_SQL_INSTANCE        the instance for services with a database, default taco-run
  CLOUD_SQL_TIER            its machine type when it is made, default db-f1-micro
  CLOUD_SQL_REGION          its region, default REGION`;

const commandLine = {
  name: 'deploy',
  version: packageJson.version,
  usage,
  options: { 'dry-run': { type: 'boolean' }, prune: { type: 'boolean' } },
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
  if (extra.length > 0) return reportUsageError(commandLine, `unexpected argument "${extra[0]}"`);
  const cwd = process.cwd();
  const project = loadProject(cwd);
  const names = project.services.map(({ name }) => name);
  if (command === 'one' && (service === undefined || !names.includes(service))) {
    const near = service === undefined ? undefined : didYouMean(service, names);
    const wanted = `deploy:one needs a service: ${names.join(', ') || 'there are none in services/'}`;
    return reportUsageError(
      commandLine,
      service === undefined
        ? wanted
        : `no service "${service}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; ${wanted}`,
    );
  }
  const commit = gitCommit(cwd);
  const config = readConfig(process.env, commit?.tag);
  const targets = command === 'all' ? project.services : [project.service(service as string)];
  const steps = command === 'all' ? deployAllPlan(config, project) : deployOnePlan(config, project, service as string);
  process.stdout.write(
    `${dryRun ? 'Dry run: these are the commands' : 'Deploying'} for ${targets.map(({ name }) => name).join(', ')} in project ${config.project}, ${config.region} (images tagged ${config.tag}).\n`,
  );
  if (commit?.dirty && process.env.IMAGE_TAG === undefined) {
    // gcloud builds submit uploads the working tree, so the image holds changes the commit does not.
    process.stdout.write('The working tree has uncommitted changes: the images hold them, so their tag says -dirty.\n');
  }
  const withDatabase = targets.filter((target) => target.database !== undefined);
  if (withDatabase.length > 0) process.stdout.write(costNote(config, withDatabase));
  const result = await runPlan(steps, { cwd, dryRun, projectHash: config.projectHash });
  await reportDrift(result.drift, config, { cwd, prune: parsed.values.prune === true });
  // Where a person's requests go in: the targets nothing else calls (or all of them, in a cycle).
  const entries = targets.filter((target) => project.callers(target.name).length === 0);
  await printNextSteps(config, entries.length > 0 ? entries : targets, readGeneratedModel(cwd) as Model | undefined, {
    cwd,
    dryRun,
  });
  return 0;
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
    // Manifest problems are one line each, already naming the file and the field.
    if (error instanceof ManifestError)
      process.stderr.write(error.problems.map((line) => `deploy: ${line}\n`).join(''));
    else if (error instanceof ConfigError || error instanceof StepFailed)
      process.stderr.write(`\ndeploy: ${error.message}\n`);
    else process.stderr.write(`\ndeploy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
