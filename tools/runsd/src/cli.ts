import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { log } from './log.js';
import { startProxy } from './proxy.js';
import { resolveHost } from './resolve.js';
import { contextVariable, createRouter, type RunsdContext } from './runtime.js';
import { buildContext, projectForApp, SetupError } from './setup.js';
import { version } from './version.js';

const usage = `runsd ${version}: calls to http://<service>/ reach Cloud Run services, with an identity token.

usage:
  runsd [options] -- <command> [args...]   run the app with service discovery
  runsd resolve <host>                     print where a host goes, or why it cannot

options:
  --project-hash <hash>   the project's cloud hash, for https://<svc>-<hash>-<code>.a.run.app
                          (default: $CLOUD_RUN_PROJECT_HASH; without it, https://<svc>-<number>.<region>.run.app)
  --proxy-port <port>     the local HTTP proxy's port (default: $RUNSD_PROXY_PORT, or any free port)
  --services <file>       local mode: name → URL map (default: $RUNSD_SERVICES, or runsd.services.json found upward)
  -h, --help              this text
  --version               runsd's version

environment:
  K_SERVICE               set by Cloud Run; without it runsd runs in local mode
  CLOUD_RUN_ID_TOKEN      a fixed identity token, for debugging
  GCE_METADATA_HOST       the metadata server (gcp-metadata's own variable)
  GOOGLE_CLOUD_PROJECT    passed on as set; on Cloud Run, when unset, runsd sets it for the app
                          from the metadata server (Cloud Logging needs it to link traces)`;

const commandLine = {
  name: 'runsd',
  version,
  usage,
  options: {
    'project-hash': { type: 'string' },
    'proxy-port': { type: 'string' },
    services: { type: 'string' },
  },
  positionals: true,
} satisfies CommandLine<Options>;

interface Arguments {
  projectHash: string | undefined;
  proxyPort: string | undefined;
  services: string | undefined;
  /** The app to run: what follows `--`. */
  command: string[];
  /** `runsd resolve <host>`: the host to explain instead. */
  resolve: string | undefined;
}

/** The arguments, or the exit code once parseCommandLine or a mistake here has answered. */
function parseArguments(argv: string[]): Arguments | number {
  const parsed = parseCommandLine(commandLine, argv);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals, rest } = parsed;
  const args = {
    projectHash: values['project-hash'],
    proxyPort: values['proxy-port'],
    services: values.services,
    command: rest ?? [],
    resolve: undefined,
  };
  const [verb, host, ...extra] = positionals;
  if (verb === 'resolve' && rest === undefined) {
    if (host === undefined) return reportUsageError(commandLine, 'resolve needs a host');
    if (extra.length > 0) return reportUsageError(commandLine, `resolve takes one host, not "${extra[0]}" too`);
    return { ...args, resolve: host };
  }
  if (verb !== undefined)
    return reportUsageError(commandLine, `unexpected argument "${verb}"; put the command after --`);
  if (args.command.length === 0) return reportUsageError(commandLine, 'nothing to run; put the command after --');
  return args;
}

async function main(argv: string[]): Promise<number> {
  const args = parseArguments(argv);
  if (typeof args === 'number') return args;
  // Asked alongside the region, but reported after it: when the metadata server is down,
  // the one line runsd prints is the setup error, not this warning too.
  const projectLookup =
    args.resolve === undefined ? projectForApp(process.env).catch((error: Error) => error) : undefined;
  const resolve = await buildContext({ projectHash: args.projectHash, servicesFile: args.services }, process.env);
  const context: RunsdContext = { resolve, targetOverride: process.env.RUNSD_TARGET_OVERRIDE || undefined };
  if (context.targetOverride !== undefined && args.resolve === undefined) {
    // Meant for the emulator and tests: said out loud, so it cannot go unnoticed in a real deployment.
    log('WARNING', `RUNSD_TARGET_OVERRIDE is set: requests for *.run.app go to ${context.targetOverride}`);
  }

  if (args.resolve !== undefined) {
    const result = resolveHost(args.resolve, resolve);
    if (result.kind === 'service') process.stdout.write(`${result.target}\n`);
    else if (result.kind === 'passthrough')
      process.stdout.write(`${args.resolve} is not a service name; runsd leaves it alone\n`);
    else process.stdout.write(`cannot resolve "${args.resolve}": ${result.reason}\n`);
    return result.kind === 'service' ? 0 : 1;
  }

  const project = await projectLookup;
  if (project instanceof Error) log('WARNING', project.message);
  const proxyPort = parsePort(args.proxyPort ?? process.env.RUNSD_PROXY_PORT);
  const proxy = await startProxy(createRouter(context, process.env), proxyPort);
  const [program = '', ...programArgs] = args.command;
  const child = spawn(program, programArgs, {
    stdio: 'inherit',
    env: childEnv(context, proxy.url, project instanceof Error ? undefined : project),
  });

  // Every signal is passed on, not just the first: the app decides when it is done.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  return new Promise<number>((resolveExit) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      log('ERROR', `cannot start ${program}: ${error.code === 'ENOENT' ? 'command not found' : error.message}`);
      void proxy.close().then(() => resolveExit(127));
    });
    child.on('exit', (code, signal) => {
      void proxy.close().then(() => resolveExit(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
    });
  });
}

function childEnv(context: RunsdContext, proxyUrl: string, project: string | undefined): NodeJS.ProcessEnv {
  const metadataHost = process.env.GCE_METADATA_HOST?.split(':')[0];
  const noProxy = [
    'localhost',
    '127.0.0.1',
    '::1',
    'metadata',
    'metadata.google.internal',
    '169.254.169.254',
    metadataHost,
  ]
    .filter((host): host is string => host !== undefined && host !== '')
    .join(',');
  const preload = new URL('./preload.js', import.meta.url).href;
  return {
    ...process.env,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_OPTIONS: [`--import=${preload}`, process.env.NODE_OPTIONS].filter(Boolean).join(' '),
    [contextVariable]: JSON.stringify({ ...context, runsdPid: process.pid }),
    ...(project === undefined ? {} : { GOOGLE_CLOUD_PROJECT: project }),
  };
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value) || Number(value) > 65535)
    throw new SetupError(`the proxy port must be a number from 0 to 65535, got "${value}"`);
  return Number(value);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(
      'ERROR',
      error instanceof SetupError ? error.message : `failed to start: ${(error as Error).stack ?? String(error)}`,
    );
    process.exit(1);
  },
);
