import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runNode } from '@taco-run/project/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

const settings = { GOOGLE_CLOUD_PROJECT: 'my-taco-project', CLOUD_RUN_PROJECT_HASH: 'abc123def', IMAGE_TAG: 'v1' };

async function deploy(args: string[], env: Record<string, string>, cwd = root) {
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
const describeAccount = (service: string) =>
  `iam service-accounts describe ${service}@my-taco-project.iam.gserviceaccount.com ${project}`;
const createAccount = (service: string) =>
  `iam service-accounts create ${service} --display-name=${service} (taco-run) ${project}`;
const deployService = (service: string, env: string) =>
  `run deploy ${service} --image=${image(service)} --region=us-central1 ${project} --service-account=${service}@my-taco-project.iam.gserviceaccount.com --no-allow-unauthenticated --set-env-vars=${env} --startup-probe=httpGet.path=/healthz --quiet`;
const grant = `run services add-iam-policy-binding tacoserver --region=us-central1 ${project} --member=serviceAccount:tacoclient@my-taco-project.iam.gserviceaccount.com --role=roles/run.invoker`;
const describeUrl = (service: string) =>
  `run services describe ${service} --region=us-central1 ${project} --format=value(status.url)`;

describe('pnpm deploy:all', () => {
  it('runs every step in order on an empty project, creating what is missing', async () => {
    const result = await deploy(['all'], {
      ...settings,
      GCLOUD_STUB_MISSING: 'artifacts repositories describe,iam service-accounts describe',
    });
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      createRepo,
      build('tacoserver'),
      build('tacoclient'),
      describeAccount('tacoserver'),
      createAccount('tacoserver'),
      describeAccount('tacoclient'),
      createAccount('tacoclient'),
      deployService('tacoserver', 'GOOGLE_CLOUD_PROJECT=my-taco-project'),
      deployService('tacoclient', 'GOOGLE_CLOUD_PROJECT=my-taco-project,CLOUD_RUN_PROJECT_HASH=abc123def'),
      grant,
      describeUrl('tacoclient'),
    ]);
    expect(result.stdout).toContain('[1/9] Enable the Cloud Run, Artifact Registry, Cloud Build and IAM APIs');
    expect(result.stdout).toContain('tacoclient is at https://tacoclient-stubhash-uc.a.run.app');
    expect(result.stdout).toContain(
      `curl -H "Authorization: Bearer $(gcloud auth print-identity-token)" $(gcloud run services describe tacoclient --region=us-central1 ${project} '--format=value(status.url)')`,
    );
  });

  it('creates nothing on a re-run, where everything exists', async () => {
    const result = await deploy(['all'], settings);
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      build('tacoserver'),
      build('tacoclient'),
      describeAccount('tacoserver'),
      describeAccount('tacoclient'),
      deployService('tacoserver', 'GOOGLE_CLOUD_PROJECT=my-taco-project'),
      deployService('tacoclient', 'GOOGLE_CLOUD_PROJECT=my-taco-project,CLOUD_RUN_PROJECT_HASH=abc123def'),
      grant,
      describeUrl('tacoclient'),
    ]);
    expect(result.stdout.match(/already there/g)).toHaveLength(3);
  });

  it('accepts the hash as cloudhash, as the original tutorial named it', async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['all'], { ...rest, cloudhash: 'fromtutorial' });
    expect(result.code).toBe(0);
    expect(result.calls).toContain(
      deployService('tacoclient', 'GOOGLE_CLOUD_PROJECT=my-taco-project,CLOUD_RUN_PROJECT_HASH=fromtutorial'),
    );
  });

  it('stops at the first failed step, naming it and quoting gcloud', async () => {
    const result = await deploy(['all'], { ...settings, GCLOUD_STUB_FAIL: 'run deploy tacoserver' });
    expect(result.code).toBe(1);
    expect(result.calls.at(-1)).toBe(deployService('tacoserver', 'GOOGLE_CLOUD_PROJECT=my-taco-project'));
    expect(result.stderr).toContain(
      "deploy: step 7 failed: Deploy tacoserver (private: callers need roles/run.invoker)\nERROR: (gcloud.run.deploy) PERMISSION_DENIED: Permission 'run.services.create' denied on resource",
    );
  });

  it('prints every command and runs none with --dry-run', async () => {
    const result = await deploy(['all', '--dry-run'], settings);
    expect(result.code).toBe(0);
    expect(result.calls).toEqual([]);
    expect(result.stdout).toContain(`gcloud ${describeRepo} ||\n    gcloud artifacts repositories create taco-run`);
    expect(result.stdout).toContain(`gcloud ${grant}`);
  });

  it('names every missing or bad variable before any gcloud call', async () => {
    const missing = await deploy(['all'], {});
    expect(missing.code).toBe(1);
    expect(missing.calls).toEqual([]);
    expect(missing.stderr).toBe(
      [
        '',
        'deploy: cannot deploy; fix these environment variables first:',
        '  GOOGLE_CLOUD_PROJECT is required: the project ID, such as my-taco-project',
        '  CLOUD_RUN_PROJECT_HASH (or cloudhash) is required: the part after "<service>-" in your services\' https://<service>-<hash>-<region code>.a.run.app URLs (`pnpm deploy:one tacoserver` shows it)',
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
  it('deploys tacoclient alone', async () => {
    const result = await deploy(['one', 'tacoclient'], settings);
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      build('tacoclient'),
      describeAccount('tacoclient'),
      deployService('tacoclient', 'GOOGLE_CLOUD_PROJECT=my-taco-project,CLOUD_RUN_PROJECT_HASH=abc123def'),
      describeUrl('tacoclient'),
    ]);
  });

  it("deploys tacoserver without a hash, with the grant for tacoclient's account, and shows the project's hash", async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['one', 'tacoserver'], rest);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Your project's cloud hash is stubhash: deploy the rest with CLOUD_RUN_PROJECT_HASH=stubhash",
    );
    expect(result.calls).toEqual([
      enable,
      describeRepo,
      build('tacoserver'),
      describeAccount('tacoserver'),
      describeAccount('tacoclient'),
      deployService('tacoserver', 'GOOGLE_CLOUD_PROJECT=my-taco-project'),
      grant,
      describeUrl('tacoserver'),
    ]);
  });

  it('needs the hash for tacoclient', async () => {
    const { CLOUD_RUN_PROJECT_HASH: _, ...rest } = settings;
    const result = await deploy(['one', 'tacoclient'], rest);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('CLOUD_RUN_PROJECT_HASH (or cloudhash) is required');
    expect(result.calls).toEqual([]);
  });

  it('refuses an unknown service', async () => {
    const result = await deploy(['one', 'burritos'], settings);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('deploy:one needs a service: tacoserver or tacoclient');
    expect(result.calls).toEqual([]);
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
    const config = readConfig({ ...settings }, undefined, { needsHash: true });
    const commands = deployAllPlan(config).flatMap((step) =>
      step.unless === undefined ? [step.run] : [step.unless, step.run],
    );
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
