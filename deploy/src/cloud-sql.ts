import type { Project, Service } from '@taco-run/project/services';
import { migrationJob } from '../image-command.mjs';
import type { DeployConfig } from './config.js';
import type { Step } from './step.js';

// A service that declares a database gets one of its own in the project's one Cloud SQL instance, and
// logs in to it as its own service account (IAM database authentication) through Cloud Run's Cloud SQL
// socket: no password exists anywhere. See "Data on Cloud Run" in the README for the order and why.

/** The PostgreSQL major of the instance: PGlite's, so `pnpm dev` runs the SQL Cloud SQL will. */
const postgresVersion = 'POSTGRES_17';

/** Stands in for the instance's own service account, which reads the grants file, until the runner reads it. */
const instanceAccountPlaceholder = '<instance account>';

/** `<project>:<region>:<instance>`, as Cloud Run mounts it at /cloudsql/<it>. */
export function connectionName(config: DeployConfig): string {
  return `${config.project}:${config.cloudSql.region}:${config.cloudSql.instance}`;
}

/** A service's PostgreSQL login: its account's email without `.gserviceaccount.com`, as Cloud SQL names IAM users. */
function databaseUser(accountEmail: string): string {
  return accountEmail.replace(/\.gserviceaccount\.com$/, '');
}

/** What DATABASE_URL holds on Cloud Run: the service's IAM user, no password, its database, over the socket. */
export function cloudSqlUrl(config: DeployConfig, service: Service, accountEmail: string): string {
  const user = encodeURIComponent(databaseUser(accountEmail));
  return `postgresql://${user}@localhost/${service.name}?host=/cloudsql/${connectionName(config)}`;
}

/**
 * The privileges a service's IAM user gets, once, run as `postgres`. IAM users start with none; these
 * let it connect to its own database and create in its public schema, so it owns every table its
 * migrations make. PUBLIC loses its default CONNECT, so no other service's user can reach it. They
 * grant no CREATEDB or CREATEROLE, and no membership in cloudsqlsuperuser. Owning the database outright
 * (ALTER DATABASE … OWNER TO) would need `postgres` to be a member of the IAM role, which on
 * PostgreSQL 16 and later it cannot grant itself.
 */
export function grantsSql(database: string, user: string): string {
  const db = quoteIdentifier(database);
  const role = quoteIdentifier(user);
  return [
    `REVOKE ALL ON DATABASE ${db} FROM PUBLIC;`,
    `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${role};`,
    `GRANT USAGE, CREATE ON SCHEMA public TO ${role};`,
    '',
  ].join('\n');
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The bucket that holds the grants files `gcloud sql import sql` reads: project IDs are unique, so is this. */
function bucket(config: DeployConfig): string {
  return `gs://${config.project}-taco-run`;
}

/** The first lines of a plan that makes or uses an instance: what it costs to keep. */
export function costNote(config: DeployConfig, services: readonly Service[]): string {
  const { instance, tier, region } = config.cloudSql;
  const names = services.map(({ name }) => name).join(', ');
  return `${names} ${services.length === 1 ? 'keeps its' : 'keep their'} data in the Cloud SQL instance ${instance} (${tier}, ${postgresVersion}, ${region}), made when missing. Cloud SQL bills it by the hour while it exists, whether or not anything calls it, and its storage by the month; see https://cloud.google.com/sql/pricing. Nothing in this tool deletes it.\n`;
}

/**
 * Provisioning, after the service accounts and before any image: the instance, with IAM database
 * authentication on; the bucket the grants files go through; then for each service its database, its
 * IAM user, the two roles its account needs to log in, and its privileges, applied once.
 */
export function provisionSteps(
  config: DeployConfig,
  services: readonly Service[],
  account: (name: string) => string,
): Step[] {
  const { instance, tier, region } = config.cloudSql;
  const scope = [`--project=${config.project}`];
  const onInstance = [`--instance=${instance}`, ...scope];
  const steps: Step[] = [
    {
      title: `Ensure the Cloud SQL instance ${instance} (${tier}, ${postgresVersion}, ${region}); making one takes several minutes`,
      unless: ['sql', 'instances', 'describe', instance, ...scope],
      run: [
        'sql',
        'instances',
        'create',
        instance,
        `--database-version=${postgresVersion}`,
        `--tier=${tier}`,
        // Shared-core tiers exist only in the Enterprise edition, which PostgreSQL 16 and later no longer default to.
        `--edition=${tier.startsWith('db-perf-optimized-') ? 'enterprise-plus' : 'enterprise'}`,
        `--region=${region}`,
        '--database-flags=cloudsql.iam_authentication=on',
        ...scope,
      ],
    },
    {
      title: `Ensure the bucket ${bucket(config)}, which hands each database's privileges to Cloud SQL`,
      unless: ['storage', 'buckets', 'describe', bucket(config), ...scope],
      run: [
        'storage',
        'buckets',
        'create',
        bucket(config),
        `--location=${region}`,
        '--uniform-bucket-level-access',
        ...scope,
      ],
    },
    {
      title: `Read the service account of the instance ${instance}`,
      run: ['sql', 'instances', 'describe', instance, '--format=value(serviceAccountEmailAddress)', ...scope],
      learns: instanceAccountPlaceholder,
    },
    {
      title: `Let the instance ${instance} read the bucket ${bucket(config)}`,
      run: [
        'storage',
        'buckets',
        'add-iam-policy-binding',
        bucket(config),
        `--member=serviceAccount:${instanceAccountPlaceholder}`,
        '--role=roles/storage.objectViewer',
        ...scope,
      ],
    },
  ];
  for (const service of services) {
    const email = account(service.name);
    const user = databaseUser(email);
    const applied = `${bucket(config)}/grants/${service.name}.sql`;
    const pending = `${bucket(config)}/grants/${service.name}.pending.sql`;
    const once = ['storage', 'objects', 'describe', applied, ...scope];
    steps.push(
      {
        title: `Ensure ${service.name}'s database in ${instance}`,
        unless: ['sql', 'databases', 'describe', service.name, ...onInstance],
        run: ['sql', 'databases', 'create', service.name, ...onInstance],
      },
      {
        title: `Ensure ${service.name}'s database user ${user}, which logs in as its service account`,
        unless: ['sql', 'users', 'describe', user, ...onInstance],
        run: ['sql', 'users', 'create', user, '--type=cloud_iam_service_account', ...onInstance],
      },
      ...['roles/cloudsql.client', 'roles/cloudsql.instanceUser'].map((role) => ({
        title: `Let ${service.name} ${role === 'roles/cloudsql.client' ? 'connect to Cloud SQL' : 'log in to it as its database user'} (${role})`,
        run: [
          'projects',
          'add-iam-policy-binding',
          config.project,
          `--member=serviceAccount:${email}`,
          `--role=${role}`,
          '--condition=None',
        ],
      })),
      // Once: the file is kept as <service>.sql only after its import succeeded, and its presence skips all three.
      {
        title: `Write ${service.name}'s privileges on its database (once)`,
        unless: once,
        run: ['storage', 'cp', '-', pending, ...scope],
        stdin: grantsSql(service.name, user),
      },
      {
        title: `Apply them as postgres (once)`,
        unless: once,
        run: [
          'sql',
          'import',
          'sql',
          instance,
          pending,
          `--database=${service.name}`,
          '--user=postgres',
          '--quiet',
          ...scope,
        ],
      },
      {
        title: `Keep them as applied (once)`,
        unless: once,
        run: ['storage', 'mv', pending, applied, ...scope],
      },
    );
  }
  return steps;
}

/** The Cloud Run job that migrates a service's database from its new image: `<service>-migrate`. */
function migrationJobName(service: Service): string {
  return `${service.name}-migrate`;
}

/**
 * Migrations before traffic: the job, from the image about to be deployed, under the service's account
 * and with its DATABASE_URL, runs to the end before `run deploy` moves traffic. When it fails, the deploy
 * stops there, and the revision that was serving still is.
 */
export function migrationSteps(
  config: DeployConfig,
  service: Service,
  { image, account }: { image: string; account: string },
): Step[] {
  const job = migrationJobName(service);
  const place = [`--region=${config.region}`, `--project=${config.project}`];
  const [command, ...args] = migrationJob;
  const logs = `gcloud logging read 'resource.type="cloud_run_job" AND resource.labels.job_name="${job}"' --project=${config.project} --limit=50 --format='value(jsonPayload.message)'`;
  return [
    {
      title: `Deploy the job ${job}: ${service.name}'s migrations, from its new image`,
      run: [
        'run',
        'jobs',
        'deploy',
        job,
        `--image=${image}`,
        ...place,
        `--service-account=${account}`,
        `--set-cloudsql-instances=${connectionName(config)}`,
        `--set-env-vars=DATABASE_URL=${cloudSqlUrl(config, service, account)}`,
        `--command=${command}`,
        `--args=${args.join(',')}`,
        // A migration half-applied is rolled back by its transaction; running it again would fail the same way.
        '--max-retries=0',
        '--task-timeout=600s',
        '--quiet',
      ],
    },
    {
      title: `Migrate ${service.name}'s database before its new revision takes traffic`,
      run: ['run', 'jobs', 'execute', job, ...place, '--wait'],
      onFailure: `The migrations did not all apply, so ${service.name} was not deployed: the revision serving before still serves. The job's log:\n  ${logs}`,
    },
  ];
}

/**
 * Instances in the project other than the configured one, and databases in it that no service
 * declares. They are only listed: deleting one would take its data with it, so no flag does it.
 */
export function sqlDriftSteps(config: DeployConfig, project: Project): Step[] {
  const { instance } = config.cloudSql;
  const scope = [`--project=${config.project}`];
  return [
    {
      title: 'List the Cloud SQL instances that no deploy configuration names',
      run: ['sql', 'instances', 'list', ...scope, '--format=value(name)'],
      listsUndeclared: { kind: 'instance', declared: [instance] },
    },
    {
      title: `List the databases in ${instance} that no service.json declares`,
      run: ['sql', 'databases', 'list', `--instance=${instance}`, ...scope, '--format=value(name)'],
      listsUndeclared: {
        kind: 'database',
        instance,
        // postgres is Cloud SQL's own, made with every instance.
        declared: ['postgres', ...project.services.filter((s) => s.database !== undefined).map(({ name }) => name)],
      },
    },
  ];
}
