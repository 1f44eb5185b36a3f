import { type StdioOptions, spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Writable } from 'node:stream';
import { type CommandLine, type Options, parseCommandLine, reportUsageError } from '@taco-run/project/cli';
import { portNumber } from '@taco-run/project/ports';
import { contextFd, sendContext } from './handoff.js';
import { log } from './log.js';
import { metadataHosts } from './metadata-value.js';
import type { RunningProxy } from './proxy.js';
import { type ResolveContext, resolveHost } from './resolve.js';
import { contextVariable, createRouter, type RunsdContext } from './runtime.js';
import { completeCloudSetup, needsProject, type PendingCloud, projectForApp, readSetup, SetupError } from './setup.js';
import { version } from './version.js';

const usage = `runsd ${version}: calls to http://<service>/ reach Cloud Run services, with an identity token.

usage:
  runsd [options] -- <command> [args...]   run the app with service discovery
  runsd resolve <host>                     print where a host goes, or why it cannot

options:
  --project-hash <hash>   the project's cloud hash, for https://<svc>-<hash>-<code>.a.run.app
                          (default: $CLOUD_RUN_PROJECT_HASH; without it, https://<svc>-<number>.<region>.run.app)
  --proxy-port <port>     the local HTTP proxy's port, 0 for any free one (default: $RUNSD_PROXY_PORT,
                          else 3128 on Cloud Run and any free port elsewhere)
  --services <file>       local mode: name → URL map (default: $RUNSD_SERVICES, or runsd.services.json found upward)
  -h, --help              this text
  --version               runsd's version

environment:
  K_SERVICE               set by Cloud Run; without it runsd runs in local mode
  CLOUD_RUN_ID_TOKEN      a fixed identity token, for debugging
  GCE_METADATA_HOST       the metadata server (gcp-metadata's own variable)
  GOOGLE_CLOUD_PROJECT    passed on as set; on Cloud Run, when unset, runsd sets it for the app
                          from the metadata server (Cloud Logging needs it to link traces),
                          and the app starts once it is known`;

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
  const setup = readSetup({ projectHash: args.projectHash, servicesFile: args.services }, process.env);
  if (args.resolve !== undefined) {
    return explain(args.resolve, setup.mode === 'cloud-pending' ? await completeCloudSetup(setup) : setup);
  }
  // The app's environment is fixed when it starts, so when runsd has to find
  // its GOOGLE_CLOUD_PROJECT, the whole set-up comes first. Otherwise (and
  // `pnpm deploy:all` sets the variable) the app starts at once, and the
  // metadata server is asked while it loads.
  let context = setup;
  let project: string | undefined;
  if (setup.mode === 'cloud-pending' && needsProject(process.env)) {
    const projectLookup = projectForApp(process.env).catch((error: Error) => error);
    // Asked alongside the region, but reported after it: when the metadata server is down,
    // the one line runsd prints is the setup error, not this warning too.
    context = await completeCloudSetup(setup);
    const found = await projectLookup;
    if (found instanceof Error) log('WARNING', found.message);
    else project = found;
  }
  const targetOverride = process.env.RUNSD_TARGET_OVERRIDE || undefined;
  if (targetOverride !== undefined) {
    // Meant for the emulator and tests: said out loud, so it cannot go unnoticed in a real deployment.
    log('WARNING', `RUNSD_TARGET_OVERRIDE is set: requests for *.run.app go to ${targetOverride}`);
  }
  const source = contextSource(context);
  // On Cloud Run runsd has the container to itself, so its proxy takes a fixed port.
  const proxyPort =
    parsePort(args.proxyPort ?? process.env.RUNSD_PROXY_PORT) ?? (context.mode === 'local' ? 0 : cloudProxyPort);
  const listening = () =>
    import('./proxy.js').then(({ startProxy }) =>
      startProxy(createRouter(source, targetOverride, process.env), proxyPort),
    );
  const [program = '', ...programArgs] = args.command;
  // A Node app can be started before the proxy listens, when its port is known: its own calls go through the
  // preload, and the proxy serves the programs it runs, which start well after Node has. So the app starts at once
  // and the proxy's HTTP code loads beside it. Any other app, or any free port, waits for the proxy.
  const early = proxyPort === 0 || !isNode(program) ? await listening() : undefined;
  const proxyUrl = early?.url ?? `http://127.0.0.1:${proxyPort}`;
  const handed = context.mode === 'cloud-pending' ? { ...context, fd: contextFd } : context;
  const stdio: StdioOptions = handed.mode === 'cloud-pending' ? ['inherit', 'inherit', 'inherit', 'pipe'] : 'inherit';
  const child = spawn(program, programArgs, { stdio, env: childEnv(handed, targetOverride, proxyUrl, project) });
  let setupFailed = false;
  /** Set-up that failed after the app started: the app cannot reach services, so it is stopped as Cloud Run would. */
  const stopApp = (reason: string) => {
    setupFailed = true;
    log('ERROR', `${reason}; stopping the app`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  };
  const proxy: Promise<RunningProxy | undefined> =
    early !== undefined
      ? Promise.resolve(early)
      : listening().catch((error: NodeJS.ErrnoException) => {
          // The app was told this address: without it, an app that uses HTTP_PROXY cannot reach any service.
          stopApp(
            `the proxy cannot listen on ${proxyUrl} (${error.code ?? error.message}); set RUNSD_PROXY_PORT to a free port`,
          );
          return undefined;
        });

  // Every signal is passed on, not just the first: the app decides when it is done.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => child.kill(signal));
  }
  if (typeof source === 'function') {
    // Null when the command could not be started: its error is reported below.
    const pipe = child.stdio[contextFd] as Writable | null;
    source().then(
      (resolved) => pipe && sendContext(pipe, resolved),
      (error: Error) => {
        // The app cannot reach any service without the context.
        pipe?.destroy();
        stopApp(error.message);
      },
    );
  }
  return new Promise<number>((resolveExit) => {
    child.on('error', (error: NodeJS.ErrnoException) => {
      log('ERROR', `cannot start ${program}: ${error.code === 'ENOENT' ? 'command not found' : error.message}`);
      void proxy.then((running) => running?.close()).then(() => resolveExit(127));
    });
    child.on('exit', (code, signal) => {
      void proxy
        .then((running) => running?.close())
        .then(() => resolveExit(setupFailed ? 1 : (code ?? 128 + (signal === null ? 0 : constants.signals[signal]))));
    });
  });
}

/** `runsd resolve <host>`: where the host goes, or why it cannot. */
function explain(host: string, context: ResolveContext): number {
  const result = resolveHost(host, context);
  if (result.kind === 'service') process.stdout.write(`${result.target}\n`);
  else if (result.kind === 'passthrough')
    process.stdout.write(`${host} is not a service name; runsd leaves it alone\n`);
  else process.stdout.write(`cannot resolve "${host}": ${result.reason}\n`);
  return result.kind === 'service' ? 0 : 1;
}

/**
 * The context for runsd's own router: at hand in local mode; in the cloud, the
 * metadata server's answer, asked once, by whichever comes first of runsd
 * (once the app has started) and a request through the proxy.
 */
function contextSource(context: ResolveContext | PendingCloud): ResolveContext | (() => Promise<ResolveContext>) {
  if (context.mode !== 'cloud-pending') return context;
  let asked: Promise<ResolveContext> | undefined;
  return () => {
    asked ??= completeCloudSetup(context);
    return asked;
  };
}

function childEnv(
  context: ResolveContext | PendingCloud,
  targetOverride: string | undefined,
  proxyUrl: string,
  project: string | undefined,
): NodeJS.ProcessEnv {
  // NO_PROXY takes names, not ports.
  const noProxy = [
    ...new Set(['localhost', '127.0.0.1', '::1', ...[...metadataHosts(process.env)].map((host) => host.split(':')[0])]),
  ].join(',');
  const preload = new URL('./preload.js', import.meta.url).href;
  const handed: RunsdContext = { resolve: context, targetOverride, runsdPid: process.pid };
  return {
    ...process.env,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_OPTIONS: [`--import=${preload}`, process.env.NODE_OPTIONS].filter(Boolean).join(' '),
    [contextVariable]: JSON.stringify(handed),
    ...(project === undefined ? {} : { GOOGLE_CLOUD_PROJECT: project }),
  };
}

/**
 * The proxy's port on Cloud Run unless told otherwise: the usual port of an
 * HTTP proxy, clear of the app's PORT (8080) and the ports an OpenTelemetry
 * Collector sidecar takes (4317, 4318).
 */
const cloudProxyPort = 3128;

/** Whether the command is Node itself: `node`, or the Node runsd runs on. */
function isNode(program: string): boolean {
  return program === process.execPath || /(^|\/)node(\.exe)?$/.test(program);
}

/** The port asked for, 0 for any free one; undefined when none was. */
function parsePort(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = portNumber(value);
  if (port === undefined) throw new SetupError(`the proxy port must be a number from 0 to 65535, got "${value}"`);
  return port;
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
