import { serviceAccountEmail, serviceAccountId } from '@taco-run/project/cloud-run-url';
import { type Project, type Service, serviceEnvironment } from '@taco-run/project/services';
import { cloudSqlUrl, connectionName, migrationSteps, provisionSteps, sqlDriftSteps } from './cloud-sql.js';
import type { DeployConfig } from './config.js';
import { hashPlaceholder, type Step } from './step.js';

/** The Secret Manager secrets the services read: `payment-key` of `payment-key:latest`, each once. */
function secretNames(services: readonly Service[]): string[] {
  return [
    ...new Set(
      services.flatMap((service) =>
        Object.values(service.secrets).map((reference) => reference.split(':')[0] ?? reference),
      ),
    ),
  ];
}

/** Every service, in dependency order, with every grant the manifests declare. */
export function deployAllPlan(config: DeployConfig, project: Project): Step[] {
  return planFor(config, project, project.services);
}

/** One service, with the grants on the edges that touch it: its callers' and its own calls. */
export function deployOnePlan(config: DeployConfig, project: Project, name: string): Step[] {
  return planFor(config, project, [project.service(name)]);
}

function planFor(config: DeployConfig, project: Project, targets: readonly Service[]): Step[] {
  const { project: projectId, region, repository } = config;
  const scope = [`--project=${projectId}`];
  const image = (service: Service) =>
    `${region}-docker.pkg.dev/${projectId}/${repository}/${service.name}:${config.tag}`;
  const account = (name: string) => serviceAccountEmail(name, projectId);
  const names = new Set(targets.map((service) => service.name));
  const grants = invokerGrants(project, names, account);
  // A grant names a caller's account, so every account a grant names must exist before it.
  const accounts = [
    ...new Set([...names, ...grants.flatMap(({ members }) => members.flatMap(accountOf(project, account)))]),
  ];
  const order = deployOrder(targets);
  const needsSecrets = targets.some((service) => Object.keys(service.secrets).length > 0);
  const withDatabase = order.filter((service) => service.database !== undefined);
  // The API and its name, in the order the step's title says them.
  const apis: Record<string, string> = {
    'run.googleapis.com': 'Cloud Run',
    'artifactregistry.googleapis.com': 'Artifact Registry',
    'cloudbuild.googleapis.com': 'Cloud Build',
    ...(needsSecrets ? { 'secretmanager.googleapis.com': 'Secret Manager' } : {}),
    ...(withDatabase.length > 0
      ? { 'sqladmin.googleapis.com': 'Cloud SQL Admin', 'storage.googleapis.com': 'Cloud Storage' }
      : {}),
    'iam.googleapis.com': 'IAM',
  };

  const steps: Step[] = [
    {
      title: `Enable the ${Object.values(apis)
        .join(', ')
        .replace(/, ([^,]+)$/, ' and $1')} APIs`,
      run: ['services', 'enable', ...Object.keys(apis), ...scope],
    },
    // Each secret a service reads must exist before anything changes: a grant on a missing one fails
    // half-way through the deploy, and a service given one fails to start.
    ...secretNames(order).map((secret) => ({
      title: `Check that the secret ${secret} exists`,
      run: ['secrets', 'describe', secret, '--format=value(name)', ...scope],
      requires: {
        what: `the secret ${secret} in Secret Manager`,
        create: `printf %s "<its value>" | gcloud secrets create ${secret} --data-file=- ${scope.join(' ')}`,
      },
    })),
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
    ...accounts.map((name) => ({
      title: `Ensure the ${name} service account`,
      unless: ['iam', 'service-accounts', 'describe', account(name), ...scope],
      run: ['iam', 'service-accounts', 'create', serviceAccountId(name), `--display-name=${name} (taco-run)`, ...scope],
    })),
    // Provision and roles come before the images, so that a migration job can log in once its image is there.
    ...(withDatabase.length > 0 ? provisionSteps(config, withDatabase, account) : []),
    ...order.flatMap((service) =>
      secretNames([service]).map((secret) => ({
        title: `Let ${service.name} read the secret ${secret}`,
        run: [
          'secrets',
          'add-iam-policy-binding',
          secret,
          ...scope,
          `--member=serviceAccount:${account(service.name)}`,
          '--role=roles/secretmanager.secretAccessor',
        ],
      })),
    ),
    ...order.map((service) => ({
      title: `Build and push the ${service.name} image with Cloud Build`,
      run: [
        'builds',
        'submit',
        ...scope,
        `--region=${region}`,
        '--config=deploy/cloudbuild.yaml',
        `--substitutions=_IMAGE=${image(service)},_BUILD_TARGET=${service.name}`,
        '.',
      ],
    })),
  ];

  // A caller's deploy carries the cloud hash. Without CLOUD_RUN_PROJECT_HASH it is read off the first
  // deployed service's URL, or, when the first is itself a caller, off a service it calls (deployed before).
  const [first] = order;
  const callee = config.projectHash === undefined ? first?.calls[0] : undefined;
  if (callee !== undefined) steps.push(learnHash(config, callee));
  for (const service of order) {
    const where = { image: image(service), account: account(service.name) };
    if (service.database !== undefined) steps.push(...migrationSteps(config, service, where));
    steps.push({
      title: `Deploy ${service.name} (${service.public ? 'public: anyone may call it' : 'private: callers need roles/run.invoker'})`,
      run: deployCommand(service, config, where),
    });
    if (service === first && callee === undefined) steps.push(learnHash(config, service.name));
  }

  for (const { service, members } of grants) {
    for (const member of members) {
      steps.push({
        title: `Let ${describeMember(member)} call ${service}`,
        run: [
          'run',
          'services',
          'add-iam-policy-binding',
          service,
          `--region=${region}`,
          ...scope,
          `--member=${member}`,
          '--role=roles/run.invoker',
        ],
      });
    }
  }
  for (const service of order) {
    steps.push({
      title: `Check ${service.name}'s invokers against the manifests`,
      run: ['run', 'services', 'get-iam-policy', service.name, `--region=${region}`, ...scope, '--format=json'],
      checksInvokersOf: { service: service.name, declared: declaredInvokers(project, service, account) },
    });
  }
  if (withDatabase.length > 0) steps.push(...sqlDriftSteps(config, project));
  return steps;
}

/** The members that may invoke a service: the services that call it, its `invokers`, and allUsers when public. */
export function declaredInvokers(project: Project, service: Service, account: (name: string) => string): string[] {
  return [
    ...project.callers(service.name).map((caller) => `serviceAccount:${account(caller.name)}`),
    ...service.invokers,
    ...(service.public ? ['allUsers'] : []),
  ];
}

/**
 * The invoker grants for a deploy: on each target, its callers and its
 * `invokers`; on each service a target calls, the target. (`allUsers` comes
 * from --allow-unauthenticated, not a grant.)
 */
function invokerGrants(
  project: Project,
  targets: ReadonlySet<string>,
  account: (name: string) => string,
): { service: string; members: string[] }[] {
  return project.services.flatMap((service) => {
    const members = [
      ...project
        .callers(service.name)
        .filter((caller) => targets.has(service.name) || targets.has(caller.name))
        .map((caller) => `serviceAccount:${account(caller.name)}`),
      ...(targets.has(service.name) ? service.invokers : []),
    ];
    return members.length === 0 ? [] : [{ service: service.name, members }];
  });
}

/** The project's service whose account a member is, for the accounts a grant needs. */
function accountOf(project: Project, account: (name: string) => string) {
  return (member: string): string[] =>
    project.services.filter((service) => member === `serviceAccount:${account(service.name)}`).map(({ name }) => name);
}

/** Services that call none of the others first, so the hash can be read off a real URL before a caller needs it. */
function deployOrder(targets: readonly Service[]): Service[] {
  return [...targets].sort((a, b) => Number(a.calls.length > 0) - Number(b.calls.length > 0));
}

function learnHash(config: DeployConfig, service: string): Step {
  return {
    title:
      config.projectHash === undefined
        ? `Learn the project's cloud hash from ${service}'s URL`
        : `Check CLOUD_RUN_PROJECT_HASH=${config.projectHash} against ${service}'s URL`,
    run: describeUrl(config, service),
    learnsHashFrom: service,
  };
}

/**
 * The variables a deploy sets on every service (`--set-env-vars`), the cloud hash as its placeholder; Cloud Run adds
 * its own (PORT, K_SERVICE, K_REVISION, K_CONFIGURATION). `pnpm bench` starts the deployed row with them. A service
 * with a database also gets DATABASE_URL (deployCommand), which names a socket that exists only on Cloud Run.
 */
export function deployedEnvironment(service: Service, projectId: string): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT: projectId,
    ...serviceEnvironment(service),
    // Only a caller resolves short names to *.a.run.app URLs, so only a caller needs the hash.
    ...(service.calls.length > 0 ? { CLOUD_RUN_PROJECT_HASH: hashPlaceholder } : {}),
  };
}

function deployCommand(
  service: Service,
  config: DeployConfig,
  { image, account }: { image: string; account: string },
): string[] {
  const database = service.database !== undefined;
  const env = {
    ...deployedEnvironment(service, config.project),
    ...(database ? { DATABASE_URL: cloudSqlUrl(config, service, account) } : {}),
  };
  const { cloudRun } = service;
  return [
    'run',
    'deploy',
    service.name,
    `--image=${image}`,
    `--region=${config.region}`,
    `--project=${config.project}`,
    `--service-account=${account}`,
    service.public ? '--allow-unauthenticated' : '--no-allow-unauthenticated',
    listFlag('--set-env-vars', env),
    ...(database ? [`--set-cloudsql-instances=${connectionName(config)}`] : []),
    ...(Object.keys(service.secrets).length > 0 ? [listFlag('--set-secrets', service.secrets)] : []),
    ...(cloudRun.memory === undefined ? [] : [`--memory=${cloudRun.memory}`]),
    ...(cloudRun.cpu === undefined ? [] : [`--cpu=${cloudRun.cpu}`]),
    ...(cloudRun.concurrency === undefined ? [] : [`--concurrency=${cloudRun.concurrency}`]),
    ...(cloudRun.minInstances === undefined ? [] : [`--min-instances=${cloudRun.minInstances}`]),
    ...(cloudRun.maxInstances === undefined ? [] : [`--max-instances=${cloudRun.maxInstances}`]),
    ...(cloudRun.timeoutSeconds === undefined ? [] : [`--timeout=${cloudRun.timeoutSeconds}`]),
    '--startup-probe=httpGet.path=/healthz',
    '--quiet',
  ];
}

/**
 * `--set-env-vars=A=1,B=2`. A value with a comma would split in two, so then
 * the list takes another delimiter in gcloud's `^<delimiter>^` syntax.
 */
function listFlag(flag: string, values: Record<string, string>): string {
  const pairs = Object.entries(values).map(([name, value]) => `${name}=${value}`);
  const delimiter = [',', '@', '|', ';', '~', '#'].find((candidate) =>
    pairs.every((pair) => !pair.includes(candidate)),
  );
  if (delimiter === undefined) throw new Error(`${flag}: every delimiter gcloud could use appears in a value`);
  return `${flag}=${delimiter === ',' ? '' : `^${delimiter}^`}${pairs.join(delimiter)}`;
}

function describeMember(member: string): string {
  const [kind, id] = member.split(/:(.*)/s, 2);
  return kind === 'serviceAccount' ? `the service account ${id}` : `${kind} ${id}`;
}

/** The command that prints a service's URL, for the hash and for the closing message. */
export function describeUrl(config: DeployConfig, service: string): string[] {
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
