import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadProject } from '@taco-run/project/services';
import { fixtureProject, runNode } from '@taco-run/project/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.js';
import { deployAllPlan, shellLine } from '../src/plan.js';

// pnpm deploy:all against a recording gcloud stub: the exact commands, in order, and the refusals.

const root = fileURLToPath(new URL('../../', import.meta.url));
const cli = join(root, 'deploy/dist/cli.js');
let stubDir: string;
let log: string;

beforeAll(async () => {
  stubDir = await mkdtemp(join(tmpdir(), 'gcloud-stub-'));
  await copyFile(fileURLToPath(new URL('./fixtures/gcloud', import.meta.url)), join(stubDir, 'gcloud'));
  await promisify(execFile)('chmod', ['+x', join(stubDir, 'gcloud')]);
  log = join(stubDir, 'calls.log');
});

afterAll(() => rm(stubDir, { recursive: true, force: true }));
beforeEach(() => writeFile(log, ''));

const settings = { GOOGLE_CLOUD_PROJECT: 'my-taco-project', CLOUD_RUN_PROJECT_HASH: 'stubhash', IMAGE_TAG: 'v1' };

async function deploy(args: string[], env: Record<string, string>, cwd = fixtureProject) {
  const result = await runNode(cli, args, {
    cwd,
    env: { PATH: `${stubDir}:${process.env.PATH}`, GCLOUD_STUB_LOG: log, ...env },
  });
  const calls = (await readFile(log, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as string[]).join(' '));
  return { ...result, calls };
}

const project = '--project=my-taco-project';
const image = (service: string) => `us-central1-docker.pkg.dev/my-taco-project/taco-run/${service}:v1`;
const enable = `services enable run.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com iam.googleapis.com ${project}`;
const describeRepo = `artifacts repositories describe taco-run --location=us-central1 ${project}`;
const createRepo = `artifacts repositories create taco-run --repository-format=docker --location=us-central1 --description=taco-run service images ${project}`;
const build = (service: string) =>
  `builds submit ${project} --region=us-central1 --config=deploy/cloudbuild.yaml --substitutions=_IMAGE=${image(service)},_BUILD_TARGET=${service} .`;
const account = (service: string) => `${service}@my-taco-project.iam.gserviceaccount.com`;
const describeAccount = (service: string) => `iam service-accounts describe ${account(service)} ${project}`;
const createAccount = (service: string) =>
  `iam service-accounts create ${service} --display-name=${service} (taco-run) ${project}`;
const deployService = (service: string, env: string, flags = '--no-allow-unauthenticated') =>
  `run deploy ${service} --image=${image(service)} --region=us-central1 ${project} --service-account=${account(service)} ${flags} --set-env-vars=${env} --startup-probe=httpGet.path=/healthz --quiet`;
const grant = (service: string, member: string) =>
  `run services add-iam-policy-binding ${service} --region=us-central1 ${project} --member=${member} --role=roles/run.invoker`;
const policy = (service: string) =>
  `run services get-iam-policy ${service} --region=us-central1 ${project} --format=json`;
const describeUrl = (service: string) =>
  `run services describe ${service} --region=us-central1 ${project} --format=value(status.url)`;
const serverEnv = 'GOOGLE_CLOUD_PROJECT=my-taco-project';
const clientEnv = 'GOOGLE_CLOUD_PROJECT=my-taco-project,CLOUD_RUN_PROJECT_HASH=stubhash';

describe('pnpm deploy:all', () => {
  it('runs every step in order on an empty project: accounts, images, services, then grants', async () => {
    const result = await deploy(['all'], {
      ...settings,
      GCLOUD_STUB_MISSING: 'artifacts repositories describe,iam service-accounts describe',
    });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      createRepo,
      describeAccount('tacoclient'),
      createAccount('tacoclient'),
      describeAccount('tacoserver'),
      createAccount('tacoserver'),
      build('tacoserver'),
      build('tacoclient'),
      deployService('tacoserver', serverEnv),
      describeUrl('tacoserver'),
      deployService('tacoclient', clientEnv),
      grant('tacoserver', `serviceAccount:${account('tacoclient')}`),
      policy('tacoserver'),
      policy('tacoclient'),
      describeUrl('tacoclient'),
    ]);
    expect(result.stdout).toContain('[1/12] Enable the Cloud Run, Artifact Registry, Cloud Build and IAM APIs');
    expect(result.stdout).toContain('https://tacoserver-stubhash-uc.a.run.app: the hash matches');
    expect(result.stdout).toContain('tacoclient is at https://tacoclient-stubhash-uc.a.run.app');
    expect(result.stdout).toContain(
      `curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" $(gcloud run services describe tacoclient --region=us-central1 ${project} '--format=value(status.url)')`,
    );
  });

  it('creates nothing on a re-run, where everything exists', async () => {
    const result = await deploy(['all'], settings);
    expect(result.code).toBe(0);
    expect(result.calls).not.toContain(createRepo);
    expect(result.calls.filter((call) => call.startsWith('iam service-accounts create'))).toEqual([]);
    expect(result.stdout.match(/already there/g)).toHaveLength(3);
  });

  it('reads the cloud hash off the first URL when it is not set, says so, and passes it on', async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['all'], { ...rest, GCLOUD_STUB_HASH: 'learnt4u' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "the project's cloud hash is learnt4u (read off https://tacoserver-learnt4u-uc.a.run.app); the services that call others get it",
    );
    expect(result.calls).toContain(
      deployService('tacoclient', 'GOOGLE_CLOUD_PROJECT=my-taco-project,CLOUD_RUN_PROJECT_HASH=learnt4u'),
    );
  });

  it('stops before any caller is deployed when the given hash is not the one Cloud Run uses', async () => {
    const result = await deploy(['all'], { ...settings, CLOUD_RUN_PROJECT_HASH: 'typo123' });
    expect(result.code).toBe(1);
    expect(result.calls.at(-1)).toBe(describeUrl('tacoserver'));
    expect(result.stderr).toContain(
      "CLOUD_RUN_PROJECT_HASH is typo123, but Cloud Run's URL for tacoserver is https://tacoserver-stubhash-uc.a.run.app: its hash is stubhash",
    );
  });

  it('accepts the hash as cloudhash, as the original tutorial named it', async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['all'], { ...rest, cloudhash: 'stubhash' });
    expect(result.code).toBe(0);
    expect(result.calls).toContain(deployService('tacoclient', clientEnv));
  });

  it('lists invoker grants no manifest declares, and removes them with --prune', async () => {
    const stale = 'serviceAccount:old@my-taco-project.iam.gserviceaccount.com';
    const current = `serviceAccount:${account('tacoclient')}`;
    const env = { ...settings, GCLOUD_STUB_POLICY: JSON.stringify({ tacoserver: [current, stale] }) };
    const listed = await deploy(['all'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(
      `roles/run.invoker grants that no service.json declares:\n  tacoserver: ${stale}\nRun again with --prune to remove them.`,
    );
    expect(listed.calls.filter((call) => call.includes('remove-iam-policy-binding'))).toEqual([]);

    const pruned = await deploy(['all', '--prune'], env);
    expect(pruned.code).toBe(0);
    expect(pruned.calls.filter((call) => call.includes('remove-iam-policy-binding'))).toEqual([
      `run services remove-iam-policy-binding tacoserver --region=us-central1 ${project} --member=${stale} --role=roles/run.invoker`,
    ]);
  });

  it('stops at the first failed step, naming it and quoting gcloud', async () => {
    const result = await deploy(['all'], { ...settings, GCLOUD_STUB_FAIL: 'run deploy tacoserver' });
    expect(result.code).toBe(1);
    expect(result.calls.at(-1)).toBe(deployService('tacoserver', serverEnv));
    expect(result.stderr).toContain(
      "deploy: step 7 failed: Deploy tacoserver (private: callers need roles/run.invoker)\nERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission 'run.services.create' denied on resource",
    );
  });

  it('prints every command and runs none with --dry-run', async () => {
    const result = await deploy(['all', '--dry-run'], settings);
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([]);
    expect(result.stdout).toContain(`gcloud ${describeRepo} ||\n    gcloud artifacts repositories create taco-run`);
    expect(result.stdout).toContain(`gcloud ${grant('tacoserver', `serviceAccount:${account('tacoclient')}`)}`);
  });

  it('names every bad variable before any gcloud call', async () => {
    const missing = await deploy(['all'], {});
    expect(missing.code).toBe(1);
    expect(missing.calls).toEqual([]);
    expect(missing.stderr).toBe(
      [
        '',
        'deploy: cannot deploy; fix these environment variables first:',
        '  GOOGLE_CLOUD_PROJECT is required: the project ID, such as my-taco-project',
        '',
      ].join('\n'),
    );
    const bad = await deploy(['all'], {
      GOOGLE_CLOUD_PROJECT: 'My_Project',
      CLOUD_RUN_PROJECT_HASH: 'ABC-1',
      REGION: 'mars-west1',
      ARTIFACT_REPOSITORY: '9lives',
    });
    expect(bad.calls).toEqual([]);
    expect(bad.stderr).toContain(
      '  GOOGLE_CLOUD_PROJECT must be a project ID: 6 to 30 lowercase letters, digits and hyphens, starting with a letter (got "My_Project")',
    );
    expect(bad.stderr).toContain('  CLOUD_RUN_PROJECT_HASH (or cloudhash) must be lowercase letters and digits');
    expect(bad.stderr).toContain(
      '  REGION must be a Cloud Run region with a known URL code, such as us-central1 or europe-west1 (got "mars-west1")',
    );
    expect(bad.stderr).toContain(
      '  ARTIFACT_REPOSITORY must be lowercase letters, digits and hyphens, starting with a letter (got "9lives")',
    );
  });
});

describe('pnpm deploy:one', () => {
  it('deploys tacoclient alone, with its grant on tacoserver', async () => {
    const result = await deploy(['one', 'tacoclient'], settings);
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      describeAccount('tacoclient'),
      build('tacoclient'),
      deployService('tacoclient', clientEnv),
      describeUrl('tacoclient'),
      grant('tacoserver', `serviceAccount:${account('tacoclient')}`),
      policy('tacoclient'),
      describeUrl('tacoclient'),
    ]);
  });

  it("deploys tacoserver without a hash, with the grant for tacoclient's account, and shows the project's hash", async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['one', 'tacoserver'], rest);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "the project's cloud hash is stubhash (read off https://tacoserver-stubhash-uc.a.run.app)",
    );
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      describeAccount('tacoserver'),
      describeAccount('tacoclient'),
      build('tacoserver'),
      deployService('tacoserver', serverEnv),
      describeUrl('tacoserver'),
      grant('tacoserver', `serviceAccount:${account('tacoclient')}`),
      policy('tacoserver'),
      describeUrl('tacoserver'),
    ]);
  });

  it('learns the hash from a callee when the caller is deployed alone without it', async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['one', 'tacoclient'], rest);
    expect(result.code).toBe(0);
    expect(result.calls.slice(3, 6)).toEqual([
      build('tacoclient'),
      describeUrl('tacoserver'),
      deployService('tacoclient', clientEnv),
    ]);
  });

  it('refuses an unknown service, naming the known ones', async () => {
    const result = await deploy(['one', 'tacosever'], settings);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'deploy: no service "tacosever" (did you mean "tacoserver"?); deploy:one needs a service: tacoclient, tacoserver',
    );
    expect(result.calls).toEqual([]);
  });
});

describe('a project of its own', () => {
  let work: string;
  const manifest = (name: string, fields: Record<string, unknown>) =>
    mkdir(join(work, 'services', name), { recursive: true }).then(() =>
      writeFile(join(work, 'services', name, 'service.json'), JSON.stringify(fields)),
    );

  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'deploy-project-'));
  });
  afterEach(() => rm(work, { recursive: true, force: true }));

  it('deploys every service in services/ with its manifest as flags, and grants exactly the declared edges', async () => {
    await manifest('menuserver', {
      port: 8082,
      calls: ['tacoserver'],
      public: true,
      env: { GREETING: 'hola, amigos' },
      secrets: { DB_PASSWORD: 'db-password:latest' },
      cloudRun: { memory: '512Mi', cpu: 1, concurrency: 40, minInstances: 1, maxInstances: 5, timeoutSeconds: 30 },
    });
    await manifest('tacoserver', { port: 8080, invokers: ['group:tacos@example.com'] });
    await manifest('orders', { port: 8083, calls: ['menuserver', 'tacoserver'] });
    const result = await deploy(['all'], settings, work);
    expect(result.code).toBe(0);
    const deploys = result.calls.filter((call) => call.startsWith('run deploy'));
    expect(deploys).toEqual([
      deployService('tacoserver', serverEnv),
      `run deploy menuserver --image=${image('menuserver')} --region=us-central1 ${project} --service-account=${account('menuserver')} --allow-unauthenticated --set-env-vars=^@^GOOGLE_CLOUD_PROJECT=my-taco-project@GREETING=hola, amigos@REQUEST_TIMEOUT_SECONDS=30@CLOUD_RUN_PROJECT_HASH=stubhash --set-secrets=DB_PASSWORD=db-password:latest --memory=512Mi --cpu=1 --concurrency=40 --min-instances=1 --max-instances=5 --timeout=30 --startup-probe=httpGet.path=/healthz --quiet`,
      deployService('orders', clientEnv),
    ]);
    expect(result.calls.filter((call) => call.includes('add-iam-policy-binding'))).toEqual([
      `secrets add-iam-policy-binding db-password ${project} --member=serviceAccount:${account('menuserver')} --role=roles/secretmanager.secretAccessor`,
      grant('menuserver', `serviceAccount:${account('orders')}`),
      grant('tacoserver', `serviceAccount:${account('menuserver')}`),
      grant('tacoserver', `serviceAccount:${account('orders')}`),
      grant('tacoserver', 'group:tacos@example.com'),
    ]);
    expect(result.calls[0]).toBe(
      `services enable run.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com secretmanager.googleapis.com iam.googleapis.com ${project}`,
    );
    // Only orders is called by nobody: it is where a person's requests go in.
    expect(result.stdout).toContain(
      'Try it:\n  curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" $(gcloud run services describe orders',
    );
  });

  it('stops right after enabling the APIs when a secret a service reads does not exist, and says how to make it', async () => {
    await manifest('shop', { port: 8080, secrets: { PAYMENT_KEY: 'payment-key:latest' } });
    const result = await deploy(['all'], { ...settings, GCLOUD_STUB_MISSING: 'secrets describe payment-key' }, work);
    expect(result.code).toBe(1);
    expect(result.calls).toEqual([
      `services enable run.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com secretmanager.googleapis.com iam.googleapis.com ${project}`,
      `secrets describe payment-key --format=value(name) ${project}`,
    ]);
    expect(result.stderr).toBe(
      `\ndeploy: step 2 failed: Check that the secret payment-key exists\nthe secret payment-key in Secret Manager does not exist; nothing was changed after enabling the APIs. Create it, then deploy again:\n  printf %s "<its value>" | gcloud secrets create payment-key --data-file=- ${project}\n`,
    );
  });

  it('says an API that is not enabled yet as such, not as a missing secret', async () => {
    await manifest('shop', { port: 8080, secrets: { PAYMENT_KEY: 'payment-key:latest' } });
    const result = await deploy(['all'], { ...settings, GCLOUD_STUB_DISABLED: 'secrets describe' }, work);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^\ndeploy: step 2 failed: Check that the secret payment-key exists\nthe API is not enabled yet, or was just enabled and is not ready: wait a minute and deploy again\n.*Secret Manager API has not been used/,
    );
    expect(result.stderr).not.toContain('does not exist');
  });

  it('says to try a public service without a token, and one that serves an API with a call of its method', async () => {
    await manifest('shop', { port: 8080, public: true, serves: ['TacoService'] });
    await manifest('kitchen', { port: 8081, serves: ['TacoService'], basePath: '/api/' });
    await mkdir(join(work, 'packages/generated'), { recursive: true });
    await copyFile(join(fixtureProject, 'packages/generated/model.json'), join(work, 'packages/generated/model.json'));
    const result = await deploy(['all', '--dry-run'], settings, work);
    expect(result.code).toBe(0);
    const url = (service: string) =>
      `$(gcloud run services describe ${service} --region=us-central1 --project=my-taco-project '--format=value(status.url)')`;
    const body = `-H 'Content-Type: application/json' -d '{"name":"Sammy Sosa","tacos":["Chicken","Chorizo"]}'`;
    expect(result.stdout.slice(result.stdout.indexOf('Try it:'))).toBe(
      `Try it:\n  curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" ${body} ${url('kitchen')}/api/TacoService.EatTaco\n  curl ${body} ${url('shop')}/oto/TacoService.EatTaco\n`,
    );
  });

  describe('with a database', () => {
    const bucket = 'gs://my-taco-project-taco-run';
    const onInstance = `--instance=taco-run ${project}`;
    const user = 'ledger@my-taco-project.iam';
    const connection = 'my-taco-project:us-central1:taco-run';
    const url = `postgresql://ledger%40${user.slice('ledger@'.length)}@localhost/ledger?host=/cloudsql/${connection}`;
    const once = `storage objects describe ${bucket}/grants/ledger.sql ${project}`;
    const missing = [
      'artifacts repositories describe',
      'iam service-accounts describe',
      'sql instances describe taco-run --project=my-taco-project',
      'storage buckets describe',
      'sql databases describe',
      'sql users describe',
      'storage objects describe',
    ].join(',');

    beforeEach(async () => {
      await manifest('ledger', { port: 8080, database: {} });
      await manifest('tacoclient', { port: 8081, calls: ['ledger'] });
      await mkdir(join(work, 'services/ledger/migrations'));
      await writeFile(join(work, 'services/ledger/migrations/0001_entries.sql'), 'create table entries (id int);\n');
      await rm(`${log}.stdin`, { force: true });
    });

    it('provisions Cloud SQL, grants the roles and privileges, and migrates before the deploy, in that order', async () => {
      const result = await deploy(['all'], { ...settings, GCLOUD_STUB_MISSING: missing }, work);
      expect(result.code).toBe(0);
      expect(result.calls).toEqual([
        `services enable run.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com sqladmin.googleapis.com storage.googleapis.com iam.googleapis.com ${project}`,
        describeRepo,
        createRepo,
        describeAccount('ledger'),
        createAccount('ledger'),
        describeAccount('tacoclient'),
        createAccount('tacoclient'),
        `sql instances describe taco-run ${project}`,
        `sql instances create taco-run --database-version=POSTGRES_17 --tier=db-f1-micro --edition=enterprise --region=us-central1 --database-flags=cloudsql.iam_authentication=on ${project}`,
        `storage buckets describe ${bucket} ${project}`,
        `storage buckets create ${bucket} --location=us-central1 --uniform-bucket-level-access ${project}`,
        `sql instances describe taco-run --format=value(serviceAccountEmailAddress) ${project}`,
        `storage buckets add-iam-policy-binding ${bucket} --member=serviceAccount:p123456789012-ab12cd@gcp-sa-cloud-sql.iam.gserviceaccount.com --role=roles/storage.objectViewer ${project}`,
        `sql databases describe ledger ${onInstance}`,
        `sql databases create ledger ${onInstance}`,
        `sql users describe ${user} ${onInstance}`,
        `sql users create ${user} --type=cloud_iam_service_account ${onInstance}`,
        `projects add-iam-policy-binding my-taco-project --member=serviceAccount:${account('ledger')} --role=roles/cloudsql.client --condition=None`,
        `projects add-iam-policy-binding my-taco-project --member=serviceAccount:${account('ledger')} --role=roles/cloudsql.instanceUser --condition=None`,
        once,
        `storage cp - ${bucket}/grants/ledger.pending.sql ${project}`,
        once,
        `sql import sql taco-run ${bucket}/grants/ledger.pending.sql --database=ledger --user=postgres --quiet ${project}`,
        once,
        `storage mv ${bucket}/grants/ledger.pending.sql ${bucket}/grants/ledger.sql ${project}`,
        build('ledger'),
        build('tacoclient'),
        `run jobs deploy ledger-migrate --image=${image('ledger')} --region=us-central1 ${project} --service-account=${account('ledger')} --set-cloudsql-instances=${connection} --set-env-vars=DATABASE_URL=${url} --command=node --args=/app/migrate/migrate.js --max-retries=0 --task-timeout=600s --quiet`,
        `run jobs execute ledger-migrate --region=us-central1 ${project} --wait`,
        `run deploy ledger --image=${image('ledger')} --region=us-central1 ${project} --service-account=${account('ledger')} --no-allow-unauthenticated --set-env-vars=GOOGLE_CLOUD_PROJECT=my-taco-project,DATABASE_URL=${url} --set-cloudsql-instances=${connection} --startup-probe=httpGet.path=/healthz --quiet`,
        describeUrl('ledger'),
        deployService('tacoclient', clientEnv),
        grant('ledger', `serviceAccount:${account('tacoclient')}`),
        policy('ledger'),
        policy('tacoclient'),
        `sql instances list ${project} --format=value(name)`,
        `sql databases list ${onInstance} --format=value(name)`,
        describeUrl('tacoclient'),
      ]);
      // The privileges, with no password anywhere: run as postgres by `sql import`, from the file written on stdin.
      expect(await readFile(`${log}.stdin`, 'utf8')).toBe(
        [
          'REVOKE ALL ON DATABASE "ledger" FROM PUBLIC;',
          `GRANT CONNECT, TEMPORARY ON DATABASE "ledger" TO "${user}";`,
          `GRANT USAGE, CREATE ON SCHEMA public TO "${user}";`,
          '',
        ].join('\n'),
      );
      expect(result.stdout).toContain(
        'ledger keeps its data in the Cloud SQL instance taco-run (db-f1-micro, POSTGRES_17, us-central1), made when missing. Cloud SQL bills it by the hour while it exists, whether or not anything calls it, and its storage by the month; see https://cloud.google.com/sql/pricing. Nothing in this tool deletes it.',
      );
      expect(result.stdout.indexOf('keeps its data')).toBeLessThan(result.stdout.indexOf('[1/'));
    });

    it('applies the privileges once: a re-run that finds them applied makes nothing', async () => {
      const result = await deploy(['all'], settings, work);
      expect(result.code).toBe(0);
      expect(
        result.calls.filter((call) =>
          /^(sql (instances|databases|users) create|sql import|storage (cp|mv|buckets create))/.test(call),
        ),
      ).toEqual([]);
      expect(result.calls.filter((call) => call === once)).toHaveLength(3);
    });

    it('stops when the migrations fail, before the revision is deployed, and names the job log', async () => {
      const result = await deploy(['all'], { ...settings, GCLOUD_STUB_FAIL: 'run jobs execute ledger-migrate' }, work);
      expect(result.code).toBe(1);
      expect(result.calls.at(-1)).toBe(`run jobs execute ledger-migrate --region=us-central1 ${project} --wait`);
      expect(result.calls.filter((call) => call.startsWith('run deploy'))).toEqual([]);
      expect(result.stderr).toContain(
        "The migrations did not all apply, so ledger was not deployed: the revision serving before still serves. The job's log:\n  gcloud logging read 'resource.type=\"cloud_run_job\" AND resource.labels.job_name=\"ledger-migrate\"' --project=my-taco-project --limit=50 --format='value(jsonPayload.message)'",
      );
    });

    it('lists instances and databases no manifest names, and leaves them with --prune', async () => {
      const sql = JSON.stringify({ 'taco-run': ['postgres', 'ledger', 'orders'], 'old-db': [] });
      const result = await deploy(['all', '--prune'], { ...settings, GCLOUD_STUB_SQL: sql }, work);
      expect(result.code).toBe(0);
      expect(result.calls.filter((call) => call.includes(' delete '))).toEqual([]);
      expect(result.stdout).toContain(
        [
          'Cloud SQL holds 2 that no service.json declares. --prune leaves them alone: deleting an instance takes every database in it and its backups with it, and deleting a database takes its tables. An instance is billed until it is deleted. To delete one yourself, after exporting what you keep:',
          `  the instance old-db: gcloud sql instances delete old-db ${project}`,
          `  the database orders in taco-run: gcloud sql databases delete orders --instance=taco-run ${project}`,
        ].join('\n'),
      );
    });

    it('takes the instance, its tier and its region from the environment', async () => {
      const result = await deploy(
        ['one', 'ledger', '--dry-run'],
        {
          ...settings,
          CLOUD_SQL_INSTANCE: 'books',
          CLOUD_SQL_TIER: 'db-custom-1-3840',
          CLOUD_SQL_REGION: 'europe-west1',
        },
        work,
      );
      expect(result).toMatchObject({ code: 0, calls: [] });
      expect(result.stdout).toContain(
        'gcloud sql instances create books --database-version=POSTGRES_17 --tier=db-custom-1-3840 --edition=enterprise --region=europe-west1 --database-flags=cloudsql.iam_authentication=on',
      );
      expect(result.stdout).toContain('--set-cloudsql-instances=my-taco-project:europe-west1:books');
      const bad = await deploy(['all'], { ...settings, CLOUD_SQL_INSTANCE: 'Books', CLOUD_SQL_TIER: 'f1-micro' }, work);
      expect(bad).toMatchObject({ code: 1, calls: [] });
      expect(bad.stderr).toContain(
        '  CLOUD_SQL_INSTANCE must be a Cloud SQL instance ID: lowercase letters, digits and hyphens, starting with a letter (got "Books")',
      );
      expect(bad.stderr).toContain(
        '  CLOUD_SQL_TIER must be a Cloud SQL machine type, such as db-f1-micro or db-custom-1-3840 (got "f1-micro")',
      );
    });
  });

  it('refuses a wrong manifest before any gcloud call, naming the file and the field', async () => {
    await manifest('tacoclient', { port: 8081, calls: ['tacosever'] });
    await manifest('tacoserver', { port: 8080 });
    const result = await deploy(['all', '--dry-run'], settings, work);
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'deploy: services/tacoclient/service.json: calls: no service "tacosever" (did you mean "tacoserver"?)\n',
      calls: [],
    });
  });
});

describe('the deploy command line', () => {
  it.each([
    [['all', '--dryrun'], 'unknown option --dryrun; did you mean --dry-run?'],
    [['one', 'tacoserver', '--region', 'europe-west1'], 'unknown option --region'],
    [['all', 'tacoserver'], 'deploy:all takes no service, not "tacoserver"; use deploy:one tacoserver'],
    [['deploy'], 'unknown command deploy'],
    [[], 'missing command'],
  ])('refuses %j with exit 2 and the usage, and never calls gcloud', async (args, reason) => {
    const result = await deploy(args, settings);
    expect(result).toMatchObject({ code: 2, stdout: '', calls: [] });
    expect(result.stderr).toMatch(new RegExp(`^deploy: ${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n\n`));
    expect(result.stderr).toContain('usage:\n  pnpm deploy:all [--dry-run]');
  });

  it('prints its usage on stdout for --help, exits 0 and calls nothing', async () => {
    const result = await deploy(['all', '--help'], settings);
    expect(result).toMatchObject({ code: 0, stderr: '', calls: [] });
    expect(result.stdout).toContain('usage:\n  pnpm deploy:all [--dry-run]');
  });

  it('prints its version for --version', async () => {
    expect(await deploy(['--version'], settings)).toMatchObject({ code: 0, stdout: 'deploy 0.1.0\n', calls: [] });
  });
});

describe('the image tag', () => {
  let repo: string;
  const git = (...args: string[]) => promisify(execFile)('git', args, { cwd: repo });
  const { IMAGE_TAG: _, ...untagged } = settings;

  beforeAll(async () => {
    // A project of its own: whether the tree is clean is this test's to decide.
    repo = await mkdtemp(join(tmpdir(), 'deploy-git-'));
    await git('init', '--quiet');
    await writeFile(join(repo, 'README.md'), '# a project\n');
    await mkdir(join(repo, 'services/tacoserver'), { recursive: true });
    await writeFile(join(repo, 'services/tacoserver/service.json'), '{ "port": 8080 }\n');
    await git('add', '.');
    await git('-c', 'user.name=Test', '-c', 'user.email=test@example.com', 'commit', '--quiet', '-m', 'first');
  });

  afterAll(() => rm(repo, { recursive: true, force: true }));

  it('is the commit on a clean tree, and <commit>-dirty, said in one line, with uncommitted changes', async () => {
    const commit = (await git('rev-parse', '--short=12', 'HEAD')).stdout.trim();
    const clean = await deploy(['all', '--dry-run'], untagged, repo);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain(`(images tagged ${commit}).`);
    expect(clean.stdout).toContain(
      `--substitutions=_IMAGE=us-central1-docker.pkg.dev/my-taco-project/taco-run/tacoserver:${commit},`,
    );
    expect(clean.stdout).not.toContain('-dirty');

    await writeFile(join(repo, 'README.md'), '# a project, edited\n');
    const dirty = await deploy(['all', '--dry-run'], untagged, repo);
    expect(dirty.code).toBe(0);
    expect(dirty.stdout).toContain(`(images tagged ${commit}-dirty).\n`);
    expect(dirty.stdout).toContain(
      'The working tree has uncommitted changes: the images hold them, so their tag says -dirty.\n',
    );
    expect(dirty.stdout).toContain(`/taco-run/tacoserver:${commit}-dirty,`);
    expect(dirty.calls).toEqual([]);
  });

  it('is IMAGE_TAG when set, dirty or not', async () => {
    const result = await deploy(['all', '--dry-run'], settings, repo);
    expect(result.stdout).toContain('(images tagged v1).');
    expect(result.stdout).not.toContain('-dirty');
  });
});

// Offline, gcloud parses every flag before it looks for an account, so an empty config
// still tells a wrong flag (exit 2) from a missing login (exit 1).
const realGcloud = await promisify(execFile)('sh', ['-c', 'command -v gcloud'], { env: process.env }).then(
  ({ stdout }) => stdout.trim(),
  () => '',
);

describe.skipIf(realGcloud === '')('the plan, against the real gcloud', () => {
  it('uses only commands and flags gcloud accepts', { timeout: 120_000 }, async () => {
    const config = readConfig({ ...settings }, undefined);
    // The fixture project, and one whose services read a secret, are public and have a database: every kind of step.
    const everyKind = await mkdtemp(join(tmpdir(), 'deploy-every-kind-'));
    await mkdir(join(everyKind, 'services/shop'), { recursive: true });
    await writeFile(
      join(everyKind, 'services/shop/service.json'),
      JSON.stringify({ port: 8080, public: true, secrets: { PAYMENT_KEY: 'payment-key:latest' } }),
    );
    // And one with a database: Cloud SQL, the grants, the migration job.
    await mkdir(join(everyKind, 'services/ledger/migrations'), { recursive: true });
    await writeFile(join(everyKind, 'services/ledger/service.json'), JSON.stringify({ port: 8081, database: {} }));
    await writeFile(join(everyKind, 'services/ledger/migrations/0001_entries.sql'), 'create table entries (id int);\n');
    const commands = [loadProject(fixtureProject), loadProject(everyKind, { apis: [] })]
      .flatMap((project) => deployAllPlan(config, project))
      .flatMap((step) => (step.unless === undefined ? [step.run] : [step.unless, step.run]));
    await rm(everyKind, { recursive: true, force: true });
    const emptyConfig = await mkdtemp(join(tmpdir(), 'gcloud-config-'));
    try {
      const results = await Promise.all(
        commands.map((args) =>
          promisify(execFile)(realGcloud, args, {
            cwd: root,
            timeout: 60_000,
            env: {
              PATH: process.env.PATH,
              HOME: process.env.HOME,
              CLOUDSDK_CONFIG: emptyConfig,
              CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
              CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
            },
          }).then(
            () => ({ args, code: 0, stderr: '' }),
            (error: { code: number; stderr: string }) => ({ args, code: error.code, stderr: error.stderr }),
          ),
        ),
      );
      for (const result of results) {
        expect({
          command: shellLine(result.args),
          code: result.code,
          parseError: /unrecognized arguments|argument .* expected|Invalid choice/.test(result.stderr),
        }).toEqual({
          command: shellLine(result.args),
          code: 1,
          parseError: false,
        });
        expect(result.stderr).toMatch(/You do not currently have an active account selected/);
      }
    } finally {
      await rm(emptyConfig, { recursive: true, force: true });
    }
  });
});
