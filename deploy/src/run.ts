import { spawn } from 'node:child_process';
import { exampleCall } from '@taco-run/otogen/example';
import type { Model } from '@taco-run/otogen/model';
import type { Service } from '@taco-run/project/services';
import { tryItLine } from '@taco-run/project/try-it';
import type { DeployConfig } from './config.js';
import { describeUrl, hashPlaceholder, type Step, shellLine } from './plan.js';

export class StepFailed extends Error {
  override readonly name = 'StepFailed';
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs gcloud, showing its progress as it goes and keeping its output for the error message. */
function gcloud(args: readonly string[], cwd: string, echo: boolean): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('gcloud', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (echo) process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk;
      if (echo) process.stderr.write(chunk);
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        code: 127,
        stdout,
        stderr:
          error.code === 'ENOENT'
            ? 'gcloud is not installed or not on PATH; see https://cloud.google.com/sdk/docs/install'
            : error.message,
      }),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** A grant on a service that no manifest declares: left over from an edge that was removed. */
export interface Drift {
  service: string;
  member: string;
}

export interface PlanResult {
  /** The cloud hash in use: CLOUD_RUN_PROJECT_HASH, or read off a deployed service's URL. */
  projectHash: string | undefined;
  /** Invoker grants the manifests no longer declare; unknown in a dry run. */
  drift: Drift[];
}

/**
 * Runs the plan in order and stops at the first step that fails, naming it
 * and quoting gcloud. With dryRun it only prints what it would run.
 */
export async function runPlan(
  steps: Step[],
  { cwd, dryRun, projectHash }: { cwd: string; dryRun: boolean; projectHash: string | undefined },
): Promise<PlanResult> {
  let hash = projectHash;
  const drift: Drift[] = [];
  for (const [index, step] of steps.entries()) {
    process.stdout.write(`\n[${index + 1}/${steps.length}] ${step.title}\n`);
    const run = withHash(step.run, hash);
    if (dryRun) {
      process.stdout.write(
        step.unless === undefined ? `  ${shellLine(run)}\n` : `  ${shellLine(step.unless)} ||\n    ${shellLine(run)}\n`,
      );
      continue;
    }
    if (step.unless !== undefined) {
      const check = await gcloud(step.unless, cwd, false);
      if (check.code === 0) {
        process.stdout.write('  already there\n');
        continue;
      }
    }
    // A step that reads something says what it found itself, rather than echoing gcloud.
    const quiet =
      step.learnsHashFrom !== undefined || step.checksInvokersOf !== undefined || step.requires !== undefined;
    process.stdout.write(`  $ ${shellLine(run)}\n`);
    const result = await gcloud(run, cwd, !quiet);
    if (result.code !== 0) {
      throw new StepFailed(
        `step ${index + 1} failed: ${step.title}\n${requirementMissing(step, result) ?? gcloudError(result)}`,
      );
    }
    if (step.learnsHashFrom !== undefined) {
      hash = hashFromUrl(step.learnsHashFrom, result.stdout.trim(), hash, index + 1, step.title);
    }
    if (step.checksInvokersOf !== undefined) {
      const { service, declared } = step.checksInvokersOf;
      const extra = invokersIn(result.stdout).filter((member) => !declared.includes(member));
      process.stdout.write(extra.length === 0 ? '  as declared\n' : `  ${extra.length} not declared\n`);
      drift.push(...extra.map((member) => ({ service, member })));
    }
  }
  return { projectHash: hash, drift };
}

/**
 * What to say when a step that only looks finds nothing: how to make what is missing. An API that
 * is disabled, or was enabled a moment ago and is not ready, is said as such, not as missing.
 */
function requirementMissing(step: Step, result: Result): string | undefined {
  if (step.requires === undefined) return undefined;
  if (/SERVICE_DISABLED|has not been used in project|it is disabled/.test(result.stderr)) {
    return `the API is not enabled yet, or was just enabled and is not ready: wait a minute and deploy again\n${gcloudError(result)}`;
  }
  if (!/NOT_FOUND/.test(result.stderr)) return undefined;
  return `${step.requires.what} does not exist; nothing was changed after enabling the APIs. Create it, then deploy again:\n  ${step.requires.create}`;
}

/** A command with the cloud hash in place, once it is known. */
function withHash(args: readonly string[], hash: string | undefined): string[] {
  return args.map((arg) => (hash === undefined ? arg : arg.replaceAll(hashPlaceholder, hash)));
}

/**
 * The cloud hash, read off `https://<service>-<hash>-<region code>.a.run.app`.
 * A hash given in CLOUD_RUN_PROJECT_HASH must be the one Cloud Run uses: a
 * wrong one would send every call from one service to another to a URL that
 * does not exist.
 */
function hashFromUrl(service: string, url: string, given: string | undefined, step: number, title: string): string {
  const found = new RegExp(`^https://${service}-([a-z\\d]+)-[a-z]{2}\\.a\\.run\\.app/?$`).exec(url)?.[1];
  if (found === undefined) {
    throw new StepFailed(
      `step ${step} failed: ${title}\n${service}'s URL is "${url}", which holds no cloud hash; set CLOUD_RUN_PROJECT_HASH`,
    );
  }
  if (given !== undefined && given !== found) {
    throw new StepFailed(
      `step ${step} failed: ${title}\nCLOUD_RUN_PROJECT_HASH is ${given}, but Cloud Run's URL for ${service} is ${url}: its hash is ${found}`,
    );
  }
  process.stdout.write(
    given === undefined
      ? `  the project's cloud hash is ${found} (read off ${url}); the services that call others get it\n`
      : `  ${url}: the hash matches\n`,
  );
  return found;
}

/** The members holding roles/run.invoker in `gcloud run services get-iam-policy --format=json` output. */
function invokersIn(json: string): string[] {
  let policy: { bindings?: { role?: string; members?: string[] }[] };
  try {
    policy = JSON.parse(json || '{}') as typeof policy;
  } catch {
    throw new StepFailed(`gcloud printed an IAM policy that is not JSON: ${json.slice(0, 200)}`);
  }
  return (policy.bindings ?? [])
    .filter((binding) => binding.role === 'roles/run.invoker')
    .flatMap((b) => b.members ?? []);
}

function gcloudError(result: Result): string {
  return (
    result.stderr
      .trim()
      .split('\n')
      .filter((line) => line.includes('ERROR'))
      .join('\n') ||
    result.stderr.trim() ||
    `exit code ${result.code}`
  );
}

/** Lists the grants no manifest declares; with prune, removes each one. */
export async function reportDrift(
  drift: readonly Drift[],
  config: DeployConfig,
  { cwd, prune }: { cwd: string; prune: boolean },
): Promise<void> {
  if (drift.length === 0) return;
  process.stdout.write(
    `\nroles/run.invoker grants that no service.json declares${prune ? ', removed with --prune' : ''}:\n`,
  );
  for (const { service, member } of drift) {
    const remove = [
      'run',
      'services',
      'remove-iam-policy-binding',
      service,
      `--region=${config.region}`,
      `--project=${config.project}`,
      `--member=${member}`,
      '--role=roles/run.invoker',
    ];
    process.stdout.write(`  ${service}: ${member}\n`);
    if (!prune) continue;
    process.stdout.write(`    $ ${shellLine(remove)}\n`);
    const result = await gcloud(remove, cwd, false);
    if (result.code !== 0) throw new StepFailed(`removing ${member} from ${service} failed\n${gcloudError(result)}`);
  }
  if (!prune) process.stdout.write('Run again with --prune to remove them.\n');
}

/**
 * After a deploy: where the services that nothing calls are, and how to call them, as the original's
 * last step: with a token unless public, and a method of their API for those that serve one.
 */
export async function printNextSteps(
  config: DeployConfig,
  services: readonly Service[],
  model: Model | undefined,
  { cwd, dryRun }: { cwd: string; dryRun: boolean },
): Promise<void> {
  const lines: string[] = [];
  for (const service of services) {
    const describe = describeUrl(config, service.name);
    if (!dryRun) {
      const result = await gcloud(describe, cwd, false);
      const url = result.stdout.trim();
      if (result.code === 0 && url !== '') process.stdout.write(`\n${service.name} is at ${url}\n`);
    }
    const call = model === undefined ? undefined : exampleCall(model, service.serves);
    lines.push(
      tryItLine(service, { url: `$(${shellLine(describe)})`, token: '$(gcloud auth print-identity-token)', call }),
    );
  }
  process.stdout.write(`\nTry it:\n${lines.join('\n')}\n`);
}
