import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type LocalDatabase, migrateLocal, openLocalDatabases } from '@taco-run/database/local';
import { consoleOptions, consolePort, consoleTelemetry, consoleUsage, startRunnerConsole } from '@taco-run/dev-console';
import { exampleCall } from '@taco-run/otogen/example';
import type { Model } from '@taco-run/otogen/model';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { projectSecrets } from '@taco-run/project/local-secrets';
import { linePrinter } from '@taco-run/project/log-lines';
import {
  generatedModel,
  loadProject,
  ManifestError,
  type Project,
  readGeneratedModel,
  type Service,
} from '@taco-run/project/services';
import { tryItLine } from '@taco-run/project/try-it';
import packageJson from '../package.json' with { type: 'json' };
import { startCloud } from './cloud.js';
import { cloudServices } from './from-project.js';
import { type EmulatorState, identityToken, readState, removeState, writeState } from './state.js';

/** The emulated project, and its owner: the developer, who may invoke every service, as owners may on Cloud Run. */
const projectId = 'taco-project';
const owner = 'developer@example.com';

const usage = `cloud-emulator ${packageJson.version}: the services as they run on Cloud Run (private, authenticated, under runsd), on this machine.

usage:
  cloud-emulator [start] [--project-hash <hash> | --deterministic] [--json]
                                                                     (pnpm dev:cloud) start everything; Ctrl-C stops it
  cloud-emulator token [service]                                     (pnpm --silent emulator:token) print your identity
                                                                     token for a service of the running emulator (default:
                                                                     the one service that no other calls)
  cloud-emulator call --as <service> <url> [--data <json>]           (pnpm emulator:call) call http://<service>/<path> as
                                                                     another service, with its identity token, as its runsd
                                                                     would: GET, or POST with --data as its JSON body

options:
  --project-hash <hash>  the cloud hash services call each other with (default: emu4tacos0)
  --deterministic        use https://<svc>-<project number>.<region>.run.app instead of the hash
  --json                 show the services' log lines as they write them (also LOG_FORMAT=json)
${consoleUsage}
  -h, --help             this text
  --version              the emulator's version`;

const commandLine = {
  name: 'cloud-emulator',
  version: packageJson.version,
  usage,
  options: {
    'project-hash': { type: 'string' },
    deterministic: { type: 'boolean' },
    json: { type: 'boolean' },
    as: { type: 'string' },
    data: { type: 'string' },
    ...consoleOptions,
  },
  positionals: true,
} satisfies CommandLine<Options>;

async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const [command = 'start', ...extra] = positionals;
  const startOptions =
    values.deterministic ||
    values['project-hash'] !== undefined ||
    values.json ||
    values['console-port'] !== undefined ||
    values['no-console'];
  if (command === 'call') {
    if (startOptions) return reportUsageError(commandLine, 'call takes --as and --data; the others go with start');
    if (values.as === undefined)
      return reportUsageError(commandLine, 'call needs --as <service>: whose identity calls');
    const [url, ...more] = extra;
    if (url === undefined) return reportUsageError(commandLine, 'call needs the URL to call: http://<service>/<path>');
    if (more.length > 0) return reportUsageError(commandLine, `unexpected argument "${more[0]}"`);
    return callAs(process.cwd(), values.as, url, values.data);
  }
  if (values.as !== undefined || values.data !== undefined) {
    return reportUsageError(commandLine, '--as and --data go with call');
  }
  if (command === 'token') {
    if (startOptions) return reportUsageError(commandLine, 'token takes no options; they go with start');
    if (extra.length > 1) return reportUsageError(commandLine, `unexpected argument "${extra[1]}"`);
    return printToken(process.cwd(), extra[0]);
  }
  if (extra.length > 0) return reportUsageError(commandLine, `unexpected argument "${extra[0]}"`);
  if (command !== 'start') return reportUsageError(commandLine, `unknown command ${command}`);
  if (values.deterministic && values['project-hash'] !== undefined) {
    return reportUsageError(commandLine, '--deterministic and --project-hash cannot go together');
  }
  const projectHash = values.deterministic ? undefined : (values['project-hash'] ?? 'emu4tacos0');
  if (projectHash !== undefined && !/^[a-z\d]+$/.test(projectHash)) {
    return reportUsageError(commandLine, `--project-hash must be lowercase letters and digits, got "${projectHash}"`);
  }
  const consoleAt = consolePort(values);
  if (typeof consoleAt === 'object') return reportUsageError(commandLine, consoleAt.error);
  return start(process.cwd(), {
    projectHash,
    json: values.json === true || process.env.LOG_FORMAT === 'json',
    consolePort: consoleAt,
  });
}

/**
 * `pnpm dev:cloud`: every service of the project as it runs on Cloud Run, on
 * this machine. Each runs under runsd in cloud mode with a service account
 * of its own, and admits exactly the callers the manifests declare, plus the
 * developer, who owns the project. Ctrl-C stops everything.
 */
async function start(
  root: string,
  {
    projectHash,
    json,
    consolePort,
  }: { projectHash: string | undefined; json: boolean; consolePort: number | undefined },
): Promise<number> {
  const project = loadProject(root);
  // runsd and the console's page come from beside this tool: the project, the working directory, is only data.
  const runsd = fileURLToPath(new URL('../../runsd/dist/runsd.js', import.meta.url));
  const bundles = [runsd, ...project.services.map((service) => join(root, service.dir, 'dist/main.js'))];
  const missingBundle = bundles.find((file) => !existsSync(file));
  if (missingBundle !== undefined) {
    throw new Error(`${missingBundle} is missing; run \`pnpm build\` from the repository root first`);
  }
  const { values: secrets, missing } = projectSecrets(root, project.services, process.env);
  if (missing !== undefined) {
    process.stderr.write(`cloud-emulator: secrets are missing, so nothing was started:\n${missing}\n`);
    return 1;
  }

  process.stdout.write(
    'cloud-emulator: starting the metadata servers, the front door and every service under runsd...\n' +
      "cloud-emulator: the front door's URLs below are the way in; each service's own port listens on loopback only\n",
  );
  const print = linePrinter({
    names: project.services.map((service) => service.name),
    json,
    color: process.stdout.isTTY && !process.env.NO_COLOR,
  });
  // Each service's own database, as pnpm dev gives it, migrated before the services start, as the deploy migrates.
  const databases = await openDatabases(root, project.services);
  if (databases === undefined) return 1;
  // The console first, so that its address is among the first lines; it learns the services' URLs once they are up.
  let cloud: Awaited<ReturnType<typeof startCloud>> | undefined;
  const devConsole =
    consolePort === undefined
      ? undefined
      : await startRunnerConsole(
          {
            project,
            modelFile: generatedModel,
            // The console calls the services through the front door: as the developer, with the owner's
            // token, or as one of the services, with its token, to see an edge the manifests do not declare refused.
            headers: callerHeaders(
              (as) => (as === undefined ? cloud?.userMetadata.host : cloud?.service(as).metadata.host),
              (name) => cloud?.service(name).url,
            ),
            callers: project.services.map((service) => service.name),
            port: consolePort,
            pageDir: fileURLToPath(new URL('../../dev-console/dist/page', import.meta.url)),
            runner: 'pnpm dev:cloud',
            databases: new Map([...databases].map(([name, database]) => [name, database.url])),
          },
          (line) => process.stdout.write(`cloud-emulator: ${line}\n`),
        );
  const telemetry = consoleTelemetry(devConsole?.otlpEndpoint, process.env);
  const databaseEnv = (name: string): Record<string, string> => {
    const url = databases.get(name)?.url;
    return url === undefined ? {} : { DATABASE_URL: url };
  };
  cloud = await startCloud({
    runsd,
    projectHash,
    projectId,
    user: owner,
    services: cloudServices(project, {
      projectId,
      owner,
      env: Object.fromEntries(
        project.services.map(({ name }) => [name, { ...telemetry, ...secrets[name], ...databaseEnv(name) }]),
      ),
    }),
    onRefusal: (line) => process.stdout.write(`cloud-emulator: ${line}\n`),
    onLine: (service, line) => {
      process.stdout.write(`${print(service, line)}\n`);
      devConsole?.addLogLine(service, line);
    },
  });
  devConsole?.setUrls(new Map([...cloud.services.values()].map(({ name, localUrl }) => [name, localUrl])));
  const entries = entryServices(project);
  await writeState(root, {
    tokenHost: cloud.userMetadata.host,
    services: Object.fromEntries(
      [...cloud.services.values()].map(({ name, url, localUrl, metadata }) => [
        name,
        { url, localUrl, metadataHost: metadata.host },
      ]),
    ),
    entries: entries.map((service) => service.name),
  });

  for (const service of cloud.services.values()) {
    const invokers = [...(cloud.frontDoor.service(service.name)?.invokers ?? [])].join(', ');
    const access = project.service(service.name).public ? 'public' : `invokers: ${invokers}`;
    process.stdout.write(
      `cloud-emulator: ${service.name} is ${service.url}, here at ${service.localUrl} (runs as ${service.serviceAccount}; ${access})\n`,
    );
  }
  const model = readGeneratedModel(root) as Model | undefined;
  const calls = entries.map((service) => {
    const { localUrl } = cloud.service(service.name);
    const token = entries.length === 1 ? 'emulator:token' : `emulator:token ${service.name}`;
    const call = model === undefined ? undefined : exampleCall(model, service.serves);
    return tryItLine(service, { url: localUrl, token: `$(pnpm --silent ${token})`, call });
  });
  process.stdout.write(`
Call ${entries.length === 1 ? 'it' : 'them'} as ${cloud.user}, the project's owner, as you would on Cloud Run:

${calls.join('\n')}

Ctrl-C stops everything.
`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('cloud-emulator: stopping\n');
    // The services before the console: each flushes its last spans to the console's receiver as it stops.
    await cloud.close();
    await Promise.all([...databases.values()].map((database) => database.close()));
    await devConsole?.close();
    await removeState(root);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  return 0;
}

/**
 * An identity token for a call to a service, from the emulator's metadata server of whoever calls:
 * the developer's by default, as `pnpm emulator:token` prints it, or a service's (`as`). Each is
 * kept for ten minutes of its hour, so the console's health polls do not ask for one every time.
 */
function callerHeaders(
  metadataHost: (as: string | undefined) => string | undefined,
  audienceOf: (service: string) => string | undefined,
): (service: string, as?: string) => Promise<Record<string, string>> {
  const tokens = new Map<string, { token: Promise<string>; until: number }>();
  return async (service, as) => {
    const host = metadataHost(as);
    const audience = audienceOf(service);
    // Before the emulator is up there is no one to ask, and nothing to call.
    if (host === undefined || audience === undefined) throw new Error('the emulator is still starting');
    const key = `${as ?? ''} ${service}`;
    let cached = tokens.get(key);
    if (cached === undefined || cached.until < Date.now()) {
      cached = { token: identityToken(host, audience), until: Date.now() + 600_000 };
      tokens.set(key, cached);
      // A failed ask is not kept: the next one asks again.
      cached.token.catch(() => tokens.delete(key));
    }
    return { authorization: `Bearer ${await cached.token}` };
  };
}

/** The services nothing in the project calls: where a developer's requests go in. All of them if every one is called. */
function entryServices(project: Project): Service[] {
  const entries = project.services.filter((service) => project.callers(service.name).length === 0);
  return entries.length > 0 ? entries : [...project.services];
}

/** The state of the emulator running here; when none is, says so on stderr. */
async function runningEmulator(root: string): Promise<EmulatorState | undefined> {
  const state = await readState(root);
  if (state === undefined) {
    process.stderr.write('cloud-emulator: no emulator is running here; start one with `pnpm dev:cloud`\n');
  }
  return state;
}

async function printToken(root: string, name: string | undefined): Promise<number> {
  const state = await runningEmulator(root);
  if (state === undefined) return 1;
  const target = name ?? (state.entries.length === 1 ? state.entries[0] : undefined);
  const service = target === undefined ? undefined : state.services[target];
  if (service === undefined) {
    const known = Object.keys(state.services).join(', ');
    process.stderr.write(
      target === undefined
        ? `cloud-emulator: name the service the token is for: one of ${known}\n`
        : `cloud-emulator: the emulator runs no service "${target}"; it runs ${known}\n`,
    );
    return 2;
  }
  try {
    process.stdout.write(`${await identityToken(state.tokenHost, service.url)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(
      `cloud-emulator: cannot get a token from the emulator (${(error as Error).message}); is \`pnpm dev:cloud\` still running?\n`,
    );
    return 1;
  }
}

/**
 * `pnpm emulator:call --as <service> <url>`: a call as the service's runsd makes it, to check an edge by
 * hand. The token comes from the calling service's own metadata server, for the callee's URL, and
 * the request goes through the front door, which admits it or answers Cloud Run's 401 or 403.
 * Prints the answer's body; says its status on stderr; exits 0 for a 2xx.
 */
async function callAs(root: string, caller: string, url: string, data: string | undefined): Promise<number> {
  const state = await runningEmulator(root);
  if (state === undefined) return 1;
  const known = Object.keys(state.services).join(', ');
  const as = state.services[caller];
  if (as === undefined) {
    process.stderr.write(`cloud-emulator: the emulator runs no service "${caller}" to call as; it runs ${known}\n`);
    return 2;
  }
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    process.stderr.write(`cloud-emulator: "${url}" is not a URL; call http://<service>/<path>\n`);
    return 2;
  }
  const callee = state.services[target.hostname];
  if (callee === undefined) {
    process.stderr.write(
      `cloud-emulator: the emulator runs no service "${target.hostname}" to call; it runs ${known}\n`,
    );
    return 2;
  }
  const method = data === undefined ? 'GET' : 'POST';
  let answer: Response;
  try {
    const token = await identityToken(as.metadataHost, callee.url);
    answer = await fetch(`${callee.localUrl}${target.pathname}${target.search}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(data === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(data === undefined ? {} : { body: data }),
    });
  } catch (error) {
    process.stderr.write(
      `cloud-emulator: cannot call ${target.hostname} (${(error as Error).message}); is \`pnpm dev:cloud\` still running?\n`,
    );
    return 1;
  }
  const body = await answer.text();
  process.stderr.write(
    `cloud-emulator: ${caller} → ${target.hostname}: ${method} ${target.pathname}${target.search} answered ${answer.status}\n`,
  );
  process.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
  return answer.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    // A started emulator runs until a signal stops it.
    if (code !== 0) process.exit(code);
  },
  (error: Error) => {
    // Manifest problems are one line each, already naming the file and the field.
    const lines = error instanceof ManifestError ? error.problems : [error.message];
    process.stderr.write(lines.map((line) => `cloud-emulator: ${line}\n`).join(''));
    process.exit(1);
  },
);

/**
 * Opens and migrates each service's database, saying where each lives; or
 * says why one could not be, closes what it opened, and gives undefined.
 */
async function openDatabases(
  root: string,
  services: readonly Service[],
): Promise<Map<string, LocalDatabase> | undefined> {
  let opened: Map<string, LocalDatabase>;
  try {
    opened = await openLocalDatabases(root, services, process.env, (database) =>
      process.stdout.write(`cloud-emulator: ${database.service.name}'s database: ${database.where}\n`),
    );
  } catch (error) {
    process.stderr.write(`cloud-emulator: ${(error as Error).message}\n`);
    return undefined;
  }
  for (const database of opened.values()) {
    const name = database.service.name;
    const migrated = await migrateLocal(root, database);
    if (!migrated.ok) {
      await Promise.all([...opened.values()].map((each) => each.close()));
      process.stderr.write(
        `cloud-emulator: ${name}'s migrations stopped, so nothing was started:\n${migrated.problem}\n`,
      );
      return undefined;
    }
    if (migrated.applied.length > 0) {
      process.stdout.write(`cloud-emulator: ${name}: applied ${migrated.applied.join(', ')}\n`);
    }
  }
  return opened;
}
