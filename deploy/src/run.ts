import { spawn } from 'node:child_process';
import type { DeployConfig } from './config.js';
import { describeUrl, type ServiceName, type Step, shellLine } from './plan.js';

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

/**
 * Runs the plan in order and stops at the first step that fails, naming it
 * and quoting gcloud. With dryRun it only prints what it would run.
 */
export async function runPlan(steps: Step[], { cwd, dryRun }: { cwd: string; dryRun: boolean }): Promise<void> {
  for (const [index, step] of steps.entries()) {
    process.stdout.write(`\n[${index + 1}/${steps.length}] ${step.title}\n`);
    if (dryRun) {
      process.stdout.write(
        step.unless === undefined
          ? `  ${shellLine(step.run)}\n`
          : `  ${shellLine(step.unless)} ||\n    ${shellLine(step.run)}\n`,
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
    process.stdout.write(`  $ ${shellLine(step.run)}\n`);
    const result = await gcloud(step.run, cwd, true);
    if (result.code !== 0) {
      const said =
        result.stderr
          .trim()
          .split('\n')
          .filter((line) => line.includes('ERROR'))
          .join('\n') ||
        result.stderr.trim() ||
        `exit code ${result.code}`;
      throw new StepFailed(`step ${index + 1} failed: ${step.title}\n${said}`);
    }
  }
}

/** After a deploy: where tacoclient is and how to call it, as the original tutorial's last step. */
export async function printNextSteps(
  config: DeployConfig,
  service: ServiceName,
  { cwd, dryRun }: { cwd: string; dryRun: boolean },
): Promise<void> {
  const describe = describeUrl(config, service);
  const curl = `curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" $(${shellLine(describe)})`;
  if (!dryRun) {
    const result = await gcloud(describe, cwd, false);
    const url = result.stdout.trim();
    if (result.code === 0 && url !== '') {
      process.stdout.write(`\n${service} is at ${url}\n`);
      // https://<service>-<hash>-<region code>.a.run.app: the hash tacoclient needs, read off a real URL.
      const hash = new RegExp(`^https://${service}-([a-z\\d]+)-[a-z]{2}\\.a\\.run\\.app/?$`).exec(url)?.[1];
      if (hash !== undefined && config.projectHash === undefined)
        process.stdout.write(
          `Your project's cloud hash is ${hash}: deploy the rest with CLOUD_RUN_PROJECT_HASH=${hash}\n`,
        );
    }
  }
  process.stdout.write(`\nTry it:\n  ${curl}\n`);
}
