import type { DeployConfig } from './config.js';

export const services = ['tacoserver', 'tacoclient'] as const;
export type ServiceName = (typeof services)[number];

/**
 * One step of a deploy: a gcloud command, or for "ensure" steps a check
 * whose failure (the thing is missing) runs the command that makes it.
 * Re-running a plan is safe: every step either checks first or is
 * idempotent in gcloud itself (deploys, policy bindings, enabling APIs).
 */
export interface Step {
  title: string;
  run: string[];
  /** Runs first; when it succeeds the step is already done and `run` is skipped. */
  unless?: string[];
}

/** The whole deploy of both services, in order. */
export function deployAllPlan(config: DeployConfig): Step[] {
  return planFor(config, services);
}

/** One service's share of the plan; tacoserver's includes the grant that lets tacoclient call it. */
export function deployOnePlan(config: DeployConfig, service: ServiceName): Step[] {
  return planFor(config, [service]);
}

function planFor(config: DeployConfig, targets: readonly ServiceName[]): Step[] {
  const { project, region, repository } = config;
  const scope = [`--project=${project}`];
  const image = (service: ServiceName) => `${region}-docker.pkg.dev/${project}/${repository}/${service}:${config.tag}`;
  const account = (service: ServiceName) => `${service}@${project}.iam.gserviceaccount.com`;
  // The grant on tacoserver names tacoclient's account, so that account must exist first.
  const accounts = targets.includes('tacoserver')
    ? services.filter((s) => targets.includes(s) || s === 'tacoclient')
    : [...targets];

  const steps: Step[] = [
    {
      title: 'Enable the Cloud Run, Artifact Registry, Cloud Build and IAM APIs',
      run: [
        'services',
        'enable',
        'run.googleapis.com',
        'artifactregistry.googleapis.com',
        'cloudbuild.googleapis.com',
        'iam.googleapis.com',
        ...scope,
      ],
    },
    {
      title: `Ensure the Artifact Registry repository ${repository} in ${region}`,
      unless: ['artifacts', 'repositories', 'describe', repository, `--location=${region}`, ...scope],
      run: [
        'artifacts',
        'repositories',
        'create',
        repository,
        '--repository-format=docker',
        `--location=${region}`,
        '--description=taco-run service images',
        ...scope,
      ],
    },
    ...targets.map((service) => ({
      title: `Build and push the ${service} image with Cloud Build`,
      run: [
        'builds',
        'submit',
        ...scope,
        `--region=${region}`,
        '--config=deploy/cloudbuild.yaml',
        `--substitutions=_IMAGE=${image(service)},_BUILD_TARGET=${service}`,
        '.',
      ],
    })),
    ...accounts.map((service) => ({
      title: `Ensure the ${service} service account`,
      unless: ['iam', 'service-accounts', 'describe', account(service), ...scope],
      run: ['iam', 'service-accounts', 'create', service, `--display-name=${service} (taco-run)`, ...scope],
    })),
  ];
  for (const service of targets) {
    const env =
      service === 'tacoclient'
        ? `GOOGLE_CLOUD_PROJECT=${project},CLOUD_RUN_PROJECT_HASH=${config.projectHash ?? ''}`
        : `GOOGLE_CLOUD_PROJECT=${project}`;
    steps.push({
      title: `Deploy ${service} (private: callers need roles/run.invoker)`,
      run: [
        'run',
        'deploy',
        service,
        `--image=${image(service)}`,
        `--region=${region}`,
        ...scope,
        `--service-account=${account(service)}`,
        '--no-allow-unauthenticated',
        `--set-env-vars=${env}`,
        '--startup-probe=httpGet.path=/healthz',
        '--quiet',
      ],
    });
  }
  if (targets.includes('tacoserver')) {
    steps.push({
      title: "Grant tacoclient's service account roles/run.invoker on tacoserver",
      run: [
        'run',
        'services',
        'add-iam-policy-binding',
        'tacoserver',
        `--region=${region}`,
        ...scope,
        `--member=serviceAccount:${account('tacoclient')}`,
        '--role=roles/run.invoker',
      ],
    });
  }
  return steps;
}

/** The command that prints a service's URL, for the closing message and the curl line. */
export function describeUrl(config: DeployConfig, service: ServiceName): string[] {
  return [
    'run',
    'services',
    'describe',
    service,
    `--region=${config.region}`,
    `--project=${config.project}`,
    '--format=value(status.url)',
  ];
}

/** A command as a person would paste it into a shell. */
export function shellLine(args: readonly string[]): string {
  return ['gcloud', ...args]
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`))
    .join(' ');
}
