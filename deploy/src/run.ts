import { spawn } from 'node:child_process';
import { exampleCall } from '@taco-run/otogen/example';
import type { Model } from '@taco-run/otogen/model';
import type { Service } from '@taco-run/project/services';
import { tryItLine } from '@taco-run/project/try-it';
import type { DeployConfig } from './config.js';
import { describeUrl, shellLine } from './plan.js';
import { hashPlaceholder, type Step } from './step.js';

export class StepFailed extends Error {
  override readonly name = 'StepFailed';
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs gcloud, showing its progress as it goes and keeping its output for the error message. */
function gcloud(args: readonly string[], cwd: string, echo: boolean, stdin?: string): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn('gcloud', args, { cwd, stdio: 'pipe' });
    // A gcloud that exits before it reads all of it (a bad flag) makes writing it fail with EPIPE: its exit says why.
    child.stdin.on('error', () => {});
    child.stdin.end(stdin);
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

/**
 * What the cloud holds and no manifest declares: an invoker grant left over from an edge that was removed,
 * or a Cloud SQL instance or database no service uses any more.
 */
export type Drift =
  | { kind: 'invoker'; service: string; member: string }
  | { kind: 'instance'; name: string }
  | { kind: 'database'; instance: string; name: string };

export interface PlanResult {
  /** The cloud hash in use: CLOUD_RUN_PROJECT_HASH, or read off a deployed service's URL. */
  projectHash: string | undefined;
  /** What the manifests no longer declare; unknown in a dry run. */
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
  // Values read off one step's output for the steps after it, by the placeholder that stands in for each.
  const learned = new Map<string, string>();
  if (projectHash !== undefined) learned.set(hashPlaceholder, projectHash);
  const drift: Drift[] = [];
  for (const [index, step] of steps.entries()) {
    process.stdout.write(`\n[${index + 1}/${steps.length}] ${step.title}\n`);
    const run = withLearned(step.run, learned);
    const unless = step.unless === undefined ? undefined : withLearned(step.unless, learned);
    if (dryRun) {
      const line = `${shellLine(run)}${step.stdin === undefined ? '' : hereDocument(step.stdin)}`;
      process.stdout.write(unless === undefined ? `  ${line}\n` : `  ${shellLine(unless)} ||\n    ${line}\n`);
      continue;
    }
    if (unless !== undefined) {
      const check = await gcloud(unless, cwd, false);
      if (check.code === 0) {
        process.stdout.write('  already there\n');
        continue;
      }
    }
    // A step that reads something says what it found itself, rather than echoing gcloud.
    const quiet =
      step.learnsHashFrom !== undefined ||
      step.learns !== undefined ||
      step.checksInvokersOf !== undefined ||
      step.listsUndeclared !== undefined ||
      step.requires !== undefined;
    process.stdout.write(`  $ ${shellLine(run)}${step.stdin === undefined ? '' : ' (its file on stdin)'}\n`);
    const result = await gcloud(run, cwd, !quiet, step.stdin);
    if (result.code !== 0) {
      const said = requirementMissing(step, result) ?? gcloudError(result);
      throw new StepFailed(
        `step ${index + 1} failed: ${step.title}\n${said}${step.onFailure === undefined ? '' : `\n${step.onFailure}`}`,
      );
    }
    const output = result.stdout.trim();
    if (step.learnsHashFrom !== undefined) {
      const hash = hashFromUrl(step.learnsHashFrom, output, learned.get(hashPlaceholder), index + 1, step.title);
      learned.set(hashPlaceholder, hash);
    }
    if (step.learns !== undefined) {
      if (output === '' || output.includes('\n')) {
        throw new StepFailed(`step ${index + 1} failed: ${step.title}\ngcloud printed "${output}", not one value`);
      }
      process.stdout.write(`  ${output}\n`);
      learned.set(step.learns, output);
    }
    if (step.checksInvokersOf !== undefined) {
      const { service, declared } = step.checksInvokersOf;
      const extra = invokersIn(result.stdout).filter((member) => !declared.includes(member));
      process.stdout.write(extra.length === 0 ? '  as declared\n' : `  ${extra.length} not declared\n`);
      drift.push(...extra.map((member) => ({ kind: 'invoker' as const, service, member })));
    }
    if (step.listsUndeclared !== undefined) {
      const { kind, instance = '', declared } = step.listsUndeclared;
      const extra = output
        .split('\n')
        .map((name) => name.trim())
        .filter((name) => name !== '' && !declared.includes(name));
      process.stdout.write(extra.length === 0 ? '  none\n' : `  ${extra.join(', ')}\n`);
      drift.push(...extra.map((name) => (kind === 'instance' ? { kind, name } : { kind, instance, name })));
    }
  }
  return { projectHash: learned.get(hashPlaceholder), drift };
}

/** A step's standard input as a shell here-document, for a dry run to show whole and a person to paste. */
function hereDocument(text: string): string {
  const lines = text.endsWith('\n') ? text.slice(0, -1) : text;
  // The body and EOF at the line's start, as the shell reads them when pasted.
  return ` <<'EOF'\n${lines}\nEOF`;
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

/** A command with each value learned so far in its placeholder's place. */
function withLearned(args: readonly string[], learned: ReadonlyMap<string, string>): string[] {
  return args.map((arg) =>
    [...learned].reduce((result, [placeholder, value]) => result.replaceAll(placeholder, value), arg),
  );
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

/**
 * Lists what no manifest declares. With prune, removes each invoker grant; it never deletes an instance
 * or a database, since that would take their data with it: it says so, and how to do it by hand.
 */
export async function reportDrift(
  drift: readonly Drift[],
  config: DeployConfig,
  { cwd, prune }: { cwd: string; prune: boolean },
): Promise<void> {
  const scope = `--project=${config.project}`;
  const grants = drift.filter((found) => found.kind === 'invoker');
  if (grants.length > 0) {
    process.stdout.write(
      `\nroles/run.invoker grants that no service.json declares${prune ? ', removed with --prune' : ''}:\n`,
    );
  }
  for (const { service, member } of grants) {
    const remove = [
      'run',
      'services',
      'remove-iam-policy-binding',
      service,
      `--region=${config.region}`,
      scope,
      `--member=${member}`,
      '--role=roles/run.invoker',
    ];
    process.stdout.write(`  ${service}: ${member}\n`);
    if (!prune) continue;
    process.stdout.write(`    $ ${shellLine(remove)}\n`);
    const result = await gcloud(remove, cwd, false);
    if (result.code !== 0) throw new StepFailed(`removing ${member} from ${service} failed\n${gcloudError(result)}`);
  }
  if (grants.length > 0 && !prune) process.stdout.write('Run again with --prune to remove them.\n');

  const data = drift.filter((found) => found.kind !== 'invoker');
  if (data.length === 0) return;
  process.stdout.write(
    `\nCloud SQL ${data.length === 1 ? 'holds one' : `holds ${data.length}`} that no service.json declares. ${prune ? '--prune leaves' : 'The deploy leaves'} ${data.length === 1 ? 'it' : 'them'} alone: deleting an instance takes every database in it and its backups with it, and deleting a database takes its tables. An instance is billed until it is deleted. To delete one yourself, after exporting what you keep:\n`,
  );
  for (const found of data) {
    const line =
      found.kind === 'instance'
        ? `  the instance ${found.name}: ${shellLine(['sql', 'instances', 'delete', found.name, scope])}\n`
        : `  the database ${found.name} in ${found.instance}: ${shellLine(['sql', 'databases', 'delete', found.name, `--instance=${found.instance}`, scope])}\n`;
    process.stdout.write(line);
  }
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
