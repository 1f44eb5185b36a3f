import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { metadataHost, metadataValue } from './metadata-value.js';
import type { ResolveContext } from './resolve.js';

/** A mistake in runsd's own configuration: it says so in one line and does not start the app. */
export class SetupError extends Error {
  override readonly name = 'SetupError';
}

export interface SetupOptions {
  projectHash?: string | undefined;
  servicesFile?: string | undefined;
}

/**
 * Cloud mode before the metadata server has answered: what runsd knows
 * without asking it. runsd starts the app in this state and hands it the
 * full context when the answer comes; `fd` is the descriptor the app reads
 * it from (see handoff.ts).
 */
export interface PendingCloud {
  mode: 'cloud-pending';
  projectHash?: string | undefined;
  fd?: number;
}

/**
 * Works out where runsd runs, as far as it can without a network call. With
 * K_SERVICE set (Cloud Run sets it), the region and project number are still
 * to come from the metadata server (completeCloudSetup); otherwise short
 * names map to local URLs from RUNSD_SERVICES or runsd.services.json.
 */
export function readSetup(
  options: SetupOptions,
  env: NodeJS.ProcessEnv,
  cwd = process.cwd(),
): ResolveContext | PendingCloud {
  if (env.K_SERVICE !== undefined && env.K_SERVICE !== '') {
    const projectHash = options.projectHash ?? env.CLOUD_RUN_PROJECT_HASH;
    if (projectHash !== undefined && !/^[a-z\d]+$/.test(projectHash)) {
      throw new SetupError(
        `CLOUD_RUN_PROJECT_HASH must be lowercase letters and digits (the part after "<service>-" in a *.a.run.app URL), got "${projectHash}"`,
      );
    }
    return { mode: 'cloud-pending', projectHash: projectHash || undefined };
  }
  return { mode: 'local', services: localServices(options.servicesFile, env, cwd) };
}

/** The cloud context, from the region and project number the metadata server gives. */
export async function completeCloudSetup({ projectHash }: PendingCloud): Promise<ResolveContext> {
  const { region, projectNumber } = await regionFromMetadata();
  return { mode: 'cloud', region, projectNumber, projectHash };
}

/**
 * The project ID for the app's environment. Cloud Run, unlike Cloud Functions,
 * does not set GOOGLE_CLOUD_PROJECT, yet Cloud Logging needs the project to
 * link a log line to its trace, and Google's libraries look for it there. On
 * Cloud Run it is asked of the metadata server, alongside the region; the
 * app's own setting wins. It rejects with a message to warn with: a failure
 * costs the app only the variable.
 */
export async function projectForApp(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (!needsProject(env)) return undefined;
  try {
    return (await metadataValue('project/project-id')).trim() || undefined;
  } catch (error) {
    throw new Error(
      `cannot read project/project-id from the metadata server (${metadataHost()}), so GOOGLE_CLOUD_PROJECT stays unset: ${(error as Error).message}`,
    );
  }
}

/** Whether runsd has to find the app's GOOGLE_CLOUD_PROJECT: on Cloud Run, when nobody set it. */
export function needsProject(env: NodeJS.ProcessEnv): boolean {
  return !env.GOOGLE_CLOUD_PROJECT && env.K_SERVICE !== undefined && env.K_SERVICE !== '';
}

async function regionFromMetadata(): Promise<{ region: string; projectNumber: string }> {
  let value: string;
  try {
    value = await metadataValue('instance/region');
  } catch (error) {
    throw new SetupError(
      `cannot read instance/region from the metadata server (${metadataHost()}): ${(error as Error).message}`,
    );
  }
  // Cloud Run answers `projects/<number>/regions/<region>`.
  const [, projectNumber, region] = /^projects\/(\d+)\/regions\/([a-z\d-]+)$/.exec(value.trim()) ?? [];
  if (projectNumber === undefined || region === undefined)
    throw new SetupError(`the metadata server's instance/region is "${value}", not projects/<number>/regions/<region>`);
  return { projectNumber, region };
}

/** `RUNSD_SERVICES="a=http://localhost:8080,b=http://localhost:8081"` wins; else the nearest runsd.services.json. */
export function localServices(file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): Record<string, string> {
  const inline = env.RUNSD_SERVICES;
  if (inline !== undefined && inline.trim() !== '') {
    const services: Record<string, string> = {};
    for (const entry of inline
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      const [name, url] = entry.split(/=(.*)/s, 2).map((part) => part.trim());
      if (!name || !url) throw new SetupError(`RUNSD_SERVICES entry "${entry}" is not name=url`);
      services[name.toLowerCase()] = checkUrl(url, `RUNSD_SERVICES entry "${entry}"`);
    }
    return services;
  }
  const path = file ?? findUp('runsd.services.json', cwd);
  if (path === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new SetupError(`cannot read ${path}: ${(error as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SetupError(
      `${path} must be a JSON object of service name → URL, like {"<service>": "http://localhost:8080"}`,
    );
  }
  return Object.fromEntries(
    Object.entries(parsed).map(([name, url]) => [name.toLowerCase(), checkUrl(String(url), `${path}: "${name}"`)]),
  );
}

function checkUrl(url: string, where: string): string {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new SetupError(`${where}: "${url}" is not an http:// or https:// URL`);
  return url;
}

/**
 * The nearest file of that name from `from` up to the repository's root (the
 * folder with .git or pnpm-workspace.yaml), and no further: a file above the
 * project, someone else's, must not decide where its requests go.
 */
function findUp(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, name);
    if (existsSync(candidate)) return candidate;
    const atRoot = existsSync(join(dir, '.git')) || existsSync(join(dir, 'pnpm-workspace.yaml'));
    if (atRoot || dirname(dir) === dir) return undefined;
  }
}
