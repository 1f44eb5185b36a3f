import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bearerToken, decodeBearer, type MetadataServer, startMetadataServer } from '@taco-run/cloud-emulator';
import { freePort, loadedModulesPreload, runNode } from '@taco-run/project/testing';
import { listenOnLoopback } from '@taco-run/rpc/testing';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { overloaded } from './overloaded.js';

// runsd as the container runs it: the built bundle wrapping real child processes,
// with the metadata emulator standing in for Google and a loopback server for Cloud Run.

const runsd = fileURLToPath(new URL('../dist/runsd.js', import.meta.url));
const callFixture = fileURLToPath(new URL('./fixtures/call.mjs', import.meta.url));
const callsInTurn = fileURLToPath(new URL('./fixtures/calls-in-turn.mjs', import.meta.url));
const root = fileURLToPath(new URL('../../../', import.meta.url));

let metadata: MetadataServer;
let frontDoor: FastifyInstance;
let frontDoorOrigin: string;
let thirdParty: FastifyInstance;
let thirdPartyOrigin: string;
const seen: { server: string; host?: string; authorization?: string; serverless?: string; url: string }[] = [];

function recorder(app: FastifyInstance, server: string) {
  app.all('/*', async (request, reply) => {
    if (overloaded(request.url)) reply.code(503);
    seen.push({
      server,
      host: request.headers.host,
      authorization: request.headers.authorization,
      serverless: request.headers['x-serverless-authorization'] as string | undefined,
      url: request.url,
    });
    return `${server} says hi\n`;
  });
}

beforeAll(async () => {
  metadata = await startMetadataServer({ region: 'europe-west1', projectNumber: '987654321098' });
  frontDoor = Fastify();
  recorder(frontDoor, 'front door');
  frontDoorOrigin = await listenOnLoopback(frontDoor);
  thirdParty = Fastify();
  recorder(thirdParty, 'third party');
  thirdPartyOrigin = await listenOnLoopback(thirdParty);
});

afterAll(() => Promise.all([metadata.close(), frontDoor.close(), thirdParty.close()]));

beforeEach(() => {
  seen.length = 0;
  metadata.identityRequests.clear();
  metadata.setFault(undefined);
});

/**
 * The environment of a Cloud Run instance whose metadata server is the
 * emulator, with GOOGLE_CLOUD_PROJECT set as `pnpm deploy:all` sets it.
 */
function cloudEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    K_SERVICE: 'tacoclient',
    GCE_METADATA_HOST: metadata.host,
    GOOGLE_CLOUD_PROJECT: 'taco-project',
    RUNSD_TARGET_OVERRIDE: frontDoorOrigin,
    // Any free port: tests run many runsd at once, where Cloud Run gives each a container and runsd a fixed port.
    RUNSD_PROXY_PORT: '0',
    ...extra,
  };
}

function run(args: string[], env: NodeJS.ProcessEnv, cwd = root) {
  return runNode(runsd, args, { env, cwd });
}

const hashTarget = 'https://tacoserver-abc123-ew.a.run.app';

/** Every request the servers saw reached the front door as the hash URL, carrying a Google token for it. */
function expectEachAtHashTargetWithToken(url: string): void {
  for (const request of seen) {
    expect(request).toMatchObject({ server: 'front door', host: 'tacoserver-abc123-ew.a.run.app', url });
    expect(decodeBearer(request.authorization).payload).toMatchObject({
      aud: hashTarget,
      iss: 'https://accounts.google.com',
    });
  }
}

describe('a Node app under runsd on Cloud Run', () => {
  it('reaches http://tacoserver/ via fetch and via undici, at the target, with a token for it', async () => {
    const result = await run(
      ['--', process.execPath, callFixture, 'http://tacoserver/x?y=1'],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }),
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      fetch: [{ status: 200, body: 'front door says hi\n' }],
      undici: [{ status: 200, body: 'front door says hi\n' }],
    });
    expect(seen).toHaveLength(2);
    expectEachAtHashTargetWithToken('/x?y=1');
    const signature = bearerToken(seen[0]?.authorization)?.split('.')[2];
    expect(signature).toMatch(/^[\w-]{20,}$/);
    expect(result.stderr).not.toContain(signature);
  });

  it("keeps routing when the app composes undici's retry onto the global dispatcher", async () => {
    const result = await run(
      ['--', process.execPath, callFixture, '--retry', 'http://tacoserver/flaky'],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }),
    );
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      fetch: [{ status: 200, body: 'front door says hi\n' }],
      undici: [{ status: 200, body: 'front door says hi\n' }],
    });
    // fetch's call took three attempts (two 503s), undici's one; each was routed and carried the token.
    expect(seen).toHaveLength(4);
    expectEachAtHashTargetWithToken('/flaky');
  });

  it('uses the deterministic URL from the metadata server without a hash', async () => {
    const result = await run(['--', process.execPath, callFixture, 'http://tacoserver/'], cloudEnv());
    expect(result.code).toBe(0);
    expect(seen[0]?.host).toBe('tacoserver-987654321098.europe-west1.run.app');
    expect(decodeBearer(seen[0]?.authorization).payload.aud).toBe(
      'https://tacoserver-987654321098.europe-west1.run.app',
    );
  });

  it('costs one metadata token request for 200 concurrent calls', async () => {
    const result = await run(
      ['--', process.execPath, callFixture, 'http://tacoserver/many', '100'],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }),
    );
    expect(result.code).toBe(0);
    const { fetch, undici } = JSON.parse(result.stdout) as Record<'fetch' | 'undici', { status: number }[]>;
    expect([...fetch, ...undici].filter((answer) => answer.status === 200)).toHaveLength(200);
    expect(metadata.identityRequests.get(hashTarget)).toBe(1);
  });

  it('answers an unresolvable name with a 502 the app can read', async () => {
    const result = await run(
      ['--', process.execPath, callFixture, 'http://tacoserver.mars-west1.run.internal/'],
      cloudEnv(),
    );
    expect(JSON.parse(result.stdout).fetch).toEqual([
      {
        status: 502,
        body: 'runsd: cannot resolve "tacoserver.mars-west1.run.internal": unknown region "mars-west1" in "tacoserver.mars-west1.run.internal"\n',
      },
    ]);
  });
});

describe("runsd's cloud set-up, while the app starts", () => {
  /** Holds the metadata server's next answer (runsd's region request) until the test lets it go. */
  function holdRegion(): () => void {
    let release = () => {};
    metadata.setFault({ kind: 'held', until: new Promise<void>((resolve) => (release = resolve)), requests: 1 });
    return release;
  }

  async function until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  it('starts the app before the metadata server answers, and holds its calls to services until it has', async () => {
    const release = holdRegion();
    const running = run(
      ['--', process.execPath, callsInTurn, `${thirdPartyOrigin}/early`, 'http://tacoserver/late'],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }),
    );
    // Had runsd waited for its answer, the app would not be running yet, and calling out.
    await until(() => seen.some((request) => request.url === '/early'));
    expect(seen).toHaveLength(1);
    release();
    const result = await running;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      answers: [
        { status: 200, body: 'third party says hi\n' },
        { status: 200, body: 'front door says hi\n' },
      ],
      // What the app hands on to the processes it starts from then on.
      mode: 'cloud',
    });
    expect(seen[0]).toMatchObject({ server: 'third party', authorization: undefined });
    seen.shift();
    expectEachAtHashTargetWithToken('/late');
  });

  it('lets a process the app starts before then ask the metadata server itself', async () => {
    const release = holdRegion();
    const app = `require('node:child_process').spawnSync(process.execPath, [${JSON.stringify(callsInTurn)}, 'http://tacoserver/grandchild'], { stdio: 'inherit' })`;
    const running = run(['--', process.execPath, '-e', app], cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }));
    await until(() => seen.length === 1);
    release();
    const result = await running;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).answers).toEqual([{ status: 200, body: 'front door says hi\n' }]);
    expectEachAtHashTargetWithToken('/grandchild');
  });

  it('stops the app and exits 1 in one line when the metadata server cannot be reached', async () => {
    // An app that never ends by itself: runsd exits only once it has stopped it.
    const result = await run(['--', process.execPath, '-e', 'setInterval(() => {}, 1000)'], {
      ...cloudEnv({ RUNSD_TARGET_OVERRIDE: '' }),
      GCE_METADATA_HOST: '127.0.0.1:1',
    });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stderr)).toMatchObject({
      severity: 'ERROR',
      message: expect.stringMatching(
        /^runsd: cannot read instance\/region from the metadata server \(127\.0\.0\.1:1\): .*; stopping the app$/,
      ),
    });
  });
});

describe('any app under runsd, through the proxy', () => {
  it('gives curl the same routing and token through HTTP_PROXY', async () => {
    const result = await run(
      ['--', 'curl', '-s', 'http://tacoserver/from-curl'],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }),
    );
    expect(result).toMatchObject({ code: 0, stdout: 'front door says hi\n' });
    expect(seen[0]).toMatchObject({ host: 'tacoserver-abc123-ew.a.run.app', url: '/from-curl' });
    expect(decodeBearer(seen[0]?.authorization).payload.aud).toBe(hashTarget);
  });

  it('sends a third-party host through untouched, with no token', async () => {
    // Loopback is in NO_PROXY, so the proxy is named explicitly to make curl use it.
    const result = await run(
      ['--', 'sh', '-c', `curl -s --noproxy '' -x "$HTTP_PROXY" ${thirdPartyOrigin}/open`],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' }),
    );
    expect(result).toMatchObject({ code: 0, stdout: 'third party says hi\n' });
    expect(seen).toEqual([
      {
        server: 'third party',
        host: new URL(thirdPartyOrigin).host,
        authorization: undefined,
        serverless: undefined,
        url: '/open',
      },
    ]);
  });

  it('on Cloud Run takes port 3128 unless told otherwise, and starts a Node app without waiting for it', async () => {
    const { RUNSD_PROXY_PORT: _, ...shipped } = cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123' });
    // A program the Node app runs, a little after it starts, as apps do: it finds the proxy listening.
    const app = `console.log(process.env.HTTP_PROXY);
setTimeout(() => require('node:child_process').execFileSync('curl', ['-s', 'http://tacoserver/late'], { stdio: 'inherit' }), 200);`;
    const result = await run(['--', process.execPath, '-e', app], shipped);
    expect(result).toMatchObject({ code: 0, stdout: 'http://127.0.0.1:3128\nfront door says hi\n' });
    expect(seen[0]).toMatchObject({ host: 'tacoserver-abc123-ew.a.run.app', url: '/late' });
  });

  it('waits for the proxy before it starts an app that is not Node, on a port it was given', async () => {
    const port = await freePort();
    const result = await run(
      ['--', 'curl', '-s', 'http://tacoserver/given-port'],
      cloudEnv({ CLOUD_RUN_PROJECT_HASH: 'abc123', RUNSD_PROXY_PORT: String(port) }),
    );
    expect(result).toMatchObject({ code: 0, stdout: 'front door says hi\n' });
  });

  it('stops a Node app it started, and exits 1 in one line, when the proxy cannot take its port', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      const result = await run(
        ['--', process.execPath, '-e', 'setTimeout(() => {}, 20_000)'],
        cloudEnv({ RUNSD_PROXY_PORT: String(port) }),
      );
      expect(result.code).toBe(1);
      // On Cloud Run runsd's lines are JSON with a severity, for Cloud Logging; the first is the override's warning.
      expect(
        result.stderr
          .trim()
          .split('\n')
          .slice(1)
          .map((line) => JSON.parse(line)),
      ).toEqual([
        {
          severity: 'ERROR',
          message: `runsd: the proxy cannot listen on http://127.0.0.1:${port} (EADDRINUSE); set RUNSD_PROXY_PORT to a free port; stopping the app`,
        },
      ]);
    } finally {
      taken.close();
    }
  });

  it('gives the child HTTP_PROXY on loopback and NO_PROXY for local and metadata hosts, and leaves PORT alone', async () => {
    const result = await run(
      ['--', 'sh', '-c', 'echo "$HTTP_PROXY|$http_proxy|$NO_PROXY|$PORT"'],
      cloudEnv({ PORT: '8080' }),
    );
    const [proxy, lower, noProxy, port] = result.stdout.trim().split('|');
    expect(proxy).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(lower).toBe(proxy);
    expect(noProxy?.split(',')).toEqual(
      expect.arrayContaining(['localhost', '127.0.0.1', 'metadata.google.internal', '169.254.169.254']),
    );
    expect(port).toBe('8080');
  });
});

describe("the app's GOOGLE_CLOUD_PROJECT", () => {
  const print = ['--', 'sh', '-c', 'echo "project=$GOOGLE_CLOUD_PROJECT"'];

  it('is set from the metadata server on Cloud Run, which does not set it', async () => {
    expect((await run(print, cloudEnv({ GOOGLE_CLOUD_PROJECT: '' }))).stdout).toBe(
      `project=${metadata.options.projectId}\n`,
    );
  });

  it("is the app's own when set, and left unset in local mode", async () => {
    expect((await run(print, cloudEnv({ GOOGLE_CLOUD_PROJECT: 'mine' }))).stdout).toBe('project=mine\n');
    expect((await run(print, { PATH: process.env.PATH })).stdout).toBe('project=\n');
  });
});

describe("runsd's own start-up", () => {
  it("loads neither node:https nor Node's own undici before the app needs them", async () => {
    // Each costs a cold start tens of milliseconds: an ES import of node:http once loaded undici (for http.WebSocket).
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-r', loadedModulesPreload, runsd, '--', process.execPath, '-e', '0'],
        { env: { PATH: process.env.PATH } },
        (error, _stdout, stderr) => resolve({ code: error === null ? 0 : (error.code as number), stderr }),
      );
    });
    expect(code).toBe(0);
    expect(stderr).toBe('runsd.js loaded: []\n');
  });
});

describe('local mode', () => {
  it('forwards through the proxy to an https URL (node:https, which runsd loads on first use)', async () => {
    // A server with a certificate of its own; runsd trusts it as Node trusts any extra CA.
    const folder = await mkdtemp(join(tmpdir(), 'runsd-tls-'));
    const [key, cert] = [join(folder, 'key.pem'), join(folder, 'cert.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { stdio: 'ignore' },
    );
    const server = createHttpsServer({ key: await readFile(key), cert: await readFile(cert) }, (request, response) =>
      response.end(`over TLS: ${request.url}\n`),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const result = await run(['--', 'sh', '-c', `curl -s --noproxy '' -x "$HTTP_PROXY" http://secure/tls`], {
        PATH: process.env.PATH,
        RUNSD_SERVICES: `secure=${origin}`,
        NODE_EXTRA_CA_CERTS: cert,
      });
      expect(result).toMatchObject({ code: 0, stdout: 'over TLS: /tls\n' });
    } finally {
      server.close();
      await rm(folder, { recursive: true, force: true });
    }
  });

  it('maps short names from RUNSD_SERVICES and sends no token to a local URL', async () => {
    const result = await run(['--', process.execPath, callFixture, 'http://tacoserver/local'], {
      PATH: process.env.PATH,
      RUNSD_SERVICES: `tacoserver=${thirdPartyOrigin}`,
    });
    expect(JSON.parse(result.stdout).fetch).toEqual([{ status: 200, body: 'third party says hi\n' }]);
    expect(seen[0]).toMatchObject({ server: 'third party', authorization: undefined, url: '/local' });
  });

  it('adds CLOUD_RUN_ID_TOKEN for a mapping to a real run.app URL, and says where tokens come from', async () => {
    const result = await run(['--', process.execPath, callFixture, 'http://remote/'], {
      PATH: process.env.PATH,
      RUNSD_SERVICES: 'remote=https://remote-123.us-central1.run.app',
      CLOUD_RUN_ID_TOKEN: 'debug-token-value',
      RUNSD_TARGET_OVERRIDE: frontDoorOrigin,
    });
    expect(seen[0]).toMatchObject({
      server: 'front door',
      host: 'remote-123.us-central1.run.app',
      authorization: 'Bearer debug-token-value',
    });
    expect(result.stderr).toBe(
      `runsd: RUNSD_TARGET_OVERRIDE is set: requests for *.run.app go to ${frontDoorOrigin}\nrunsd: identity tokens for https://remote-123.us-central1.run.app come from fixed\n`,
    );
    expect(result.stderr).not.toContain('debug-token-value');
  });

  describe("the developer's own gcloud token", () => {
    const stub = fileURLToPath(new URL('./fixtures/', import.meta.url));
    let log: string;
    const calls = async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map((line) => (JSON.parse(line) as string[]).join(' '));
    const remote = (env: Record<string, string>) =>
      run(['--', process.execPath, callFixture, 'http://remote/'], {
        PATH: `${stub}:${process.env.PATH}`,
        GCLOUD_STUB_LOG: log,
        RUNSD_SERVICES: 'remote=https://remote-abc123-uc.a.run.app',
        RUNSD_TARGET_OVERRIDE: frontDoorOrigin,
        ...env,
      });

    beforeEach(async () => {
      log = join(await mkdtemp(join(tmpdir(), 'gcloud-stub-')), 'calls.log');
    });

    it('goes to no run.app origin the developer has not listed, and runsd says why', async () => {
      const result = await remote({});
      expect(seen[0]).toMatchObject({ host: 'remote-abc123-uc.a.run.app', authorization: undefined });
      expect(await calls()).toEqual([]);
      expect(result.stderr).toContain(
        'runsd: no identity token for https://remote-abc123-uc.a.run.app: your gcloud identity token is not bound to one service, so it goes only to the origins in RUNSD_USER_TOKEN_ORIGINS',
      );
    });

    it('goes to a listed origin, with a warning in words about what it grants', async () => {
      const result = await remote({ RUNSD_USER_TOKEN_ORIGINS: 'https://remote-abc123-uc.a.run.app' });
      expect(seen[0]).toMatchObject({ authorization: 'Bearer header.stub-token-payload.signature' });
      expect(await calls()).toEqual(['auth print-identity-token']);
      expect(result.stderr).toContain(
        'runsd: sending your own gcloud identity token to https://remote-abc123-uc.a.run.app: it is not bound to that service, so whoever runs it could call your other private services as you until it expires (an hour)',
      );
      expect(result.stderr).not.toContain('stub-token-payload');
    });

    it('is minted for the one audience through RUNSD_IMPERSONATE, and then goes to any run.app mapping', async () => {
      await remote({ RUNSD_IMPERSONATE: 'dev-caller@my-project.iam.gserviceaccount.com' });
      expect(seen[0]).toMatchObject({ authorization: 'Bearer header.stub-token-payload.signature' });
      expect(await calls()).toEqual([
        'auth print-identity-token --impersonate-service-account=dev-caller@my-project.iam.gserviceaccount.com --audiences=https://remote-abc123-uc.a.run.app --include-email',
      ]);
    });
  });

  it('looks for runsd.services.json no higher than the repository root', async () => {
    const outer = await mkdtemp(join(tmpdir(), 'runsd-outer-'));
    try {
      // Someone else's file above the project: it must not decide where the project's requests go.
      await writeFile(join(outer, 'runsd.services.json'), JSON.stringify({ tacoserver: 'http://evil.example' }));
      await mkdir(join(outer, 'project/.git'), { recursive: true });
      await mkdir(join(outer, 'project/app'));
      const result = await run(['resolve', 'tacoserver'], { PATH: process.env.PATH }, join(outer, 'project/app'));
      expect(result).toMatchObject({ code: 1, stdout: expect.stringContaining('no local address for "tacoserver"') });
    } finally {
      await rm(outer, { recursive: true, force: true });
    }
  });

  it('answers an unmapped short name with a 502 that says how to map it', async () => {
    const result = await run(['--', process.execPath, callFixture, 'http://burritos/'], {
      PATH: process.env.PATH,
      RUNSD_SERVICES: 'tacoserver=http://localhost:1',
    });
    expect(JSON.parse(result.stdout).undici).toEqual([
      {
        status: 502,
        body: 'runsd: cannot resolve "burritos": no local address for "burritos"; map it with RUNSD_SERVICES="burritos=http://localhost:<port>" or in runsd.services.json\n',
      },
    ]);
  });
});

describe('the process wrapper', () => {
  it("exits with the child's exit code", async () => {
    expect((await run(['--', process.execPath, '-e', 'process.exit(3)'], cloudEnv())).code).toBe(3);
  });

  it('passes every SIGTERM to the child and exits with its code', async () => {
    const script =
      "let n = 0; process.on('SIGTERM', () => { n++; console.log('SIGTERM ' + n); if (n === 2) process.exit(7); }); console.log('ready'); setInterval(() => {}, 1000);";
    const child = spawn(process.execPath, [runsd, '--', process.execPath, '-e', script], {
      env: cloudEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    const waitFor = async (text: string) => {
      while (!out.includes(text)) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await waitFor('ready');
    child.kill('SIGTERM');
    await waitFor('SIGTERM 1');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(out).toBe('ready\nSIGTERM 1\nSIGTERM 2\n');
    expect(code).toBe(7);
  });

  it('exits 128+signal when the child dies of a signal', async () => {
    expect((await run(['--', 'sh', '-c', 'kill -9 $$'], cloudEnv())).code).toBe(137);
  });

  it('does not start the child when the metadata server cannot be reached and the app needs its project', async () => {
    const result = await run(['--', 'sh', '-c', 'echo started'], {
      ...cloudEnv({ GOOGLE_CLOUD_PROJECT: '' }),
      GCE_METADATA_HOST: '127.0.0.1:1',
    });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stderr)).toMatchObject({
      severity: 'ERROR',
      message: expect.stringContaining('runsd: cannot read instance/region from the metadata server (127.0.0.1:1)'),
    });
  });

  it('answers --help and --version on stdout', async () => {
    expect(await run(['--version'], { PATH: process.env.PATH })).toMatchObject({
      code: 0,
      stdout: 'runsd 0.1.0\n',
      stderr: '',
    });
    expect((await run(['--help'], { PATH: process.env.PATH })).stdout).toContain('usage:');
  });

  it('prints usage without a command', async () => {
    const result = await run([], { PATH: process.env.PATH });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('runsd: nothing to run; put the command after --\n\nrunsd 0.1.0');
    expect(result.stderr).toContain('usage:\n  runsd [options] -- <command> [args...]');
  });

  it.each([
    [['--proxyport', '0'], 'unknown option --proxyport; did you mean --proxy-port?'],
    [['--project-hash'], '--project-hash needs a value'],
    [['node', 'app.js'], 'unexpected argument "node"; put the command after --'],
  ])(
    'refuses %j with exit 2 and the usage, before asking the metadata server or starting the app',
    async (args, reason) => {
      const marker = join(tmpdir(), `runsd-started-${process.pid}-${Date.now()}`);
      const asked = metadata.requests;
      const result = await run([...args, '--', 'sh', '-c', `touch ${marker}`], cloudEnv());
      expect(result).toMatchObject({ code: 2, stdout: '' });
      expect(result.stderr.startsWith(`runsd: ${reason}`)).toBe(true);
      expect(result.stderr).toContain('usage:');
      expect(existsSync(marker)).toBe(false);
      expect(metadata.requests).toBe(asked);
    },
  );

  it('says when the command does not exist', async () => {
    const result = await run(['--', 'no-such-command-xyz'], { PATH: process.env.PATH });
    expect(result.code).toBe(127);
    expect(result.stderr).toBe('runsd: cannot start no-such-command-xyz: command not found\n');
  });
});

describe('runsd resolve', () => {
  it('prints the target in the cloud, both forms', async () => {
    expect(await run(['resolve', 'tacoserver'], cloudEnv())).toMatchObject({
      code: 0,
      stdout: 'https://tacoserver-987654321098.europe-west1.run.app\n',
    });
    expect(await run(['--project-hash', 'abc123', 'resolve', 'TacoServer.us-central1:443'], cloudEnv())).toMatchObject({
      code: 0,
      stdout: 'https://tacoserver-abc123-uc.a.run.app\n',
    });
  });

  it('says why a name cannot resolve, and exits 1', async () => {
    expect(await run(['resolve', 'tacoserver.mars-west1.run.internal'], cloudEnv())).toMatchObject({
      code: 1,
      stdout:
        'cannot resolve "tacoserver.mars-west1.run.internal": unknown region "mars-west1" in "tacoserver.mars-west1.run.internal"\n',
    });
  });

  it('finds runsd.services.json upward in local mode, and RUNSD_SERVICES wins over it', async () => {
    // A project outside this repository, which keeps its map in a file; pnpm dev here passes RUNSD_SERVICES.
    const project = await mkdtemp(join(tmpdir(), 'runsd-project-'));
    try {
      await mkdir(join(project, 'app'));
      await writeFile(join(project, 'runsd.services.json'), JSON.stringify({ tacoserver: 'http://localhost:8080' }));
      expect(await run(['resolve', 'tacoserver'], { PATH: process.env.PATH }, join(project, 'app'))).toMatchObject({
        code: 0,
        stdout: 'http://localhost:8080\n',
      });
      expect(
        await run(
          ['resolve', 'tacoserver'],
          { PATH: process.env.PATH, RUNSD_SERVICES: 'tacoserver=http://127.0.0.1:9999' },
          join(project, 'app'),
        ),
      ).toMatchObject({ code: 0, stdout: 'http://127.0.0.1:9999\n' });
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  });

  it('refuses a malformed RUNSD_SERVICES before starting anything', async () => {
    const result = await run(['--', 'sh', '-c', 'echo started'], {
      PATH: process.env.PATH,
      RUNSD_SERVICES: 'tacoserver',
    });
    expect(result).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'runsd: RUNSD_SERVICES entry "tacoserver" is not name=url\n',
    });
  });
});
