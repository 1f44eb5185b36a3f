import { exampleObject } from '@taco-run/otogen/example';
import type { Service as Api, Model } from '@taco-run/otogen/model';

/** What the new service is: its name and port, the APIs it serves, and the services it calls with their APIs. */
export interface NewService {
  name: string;
  port: number;
  basePath: string;
  serves: Api[];
  calls: { name: string; basePath: string; apis: string[] }[];
  /** It has a PostgreSQL database of its own. */
  database: boolean;
  /** Versions of the packages a service depends on, as the project's own packages use them. */
  versions: { fastify: string; zod: string; undici: string };
}

export interface ScaffoldFile {
  /** Relative to the service's folder. */
  path: string;
  text: string;
}

/**
 * Every file of a new service. Pure: the model, the manifests and the
 * options give the same files, which Biome then formats as the rest of
 * the code is.
 */
export function serviceFiles(service: NewService, model: Model): ScaffoldFile[] {
  const files: ScaffoldFile[] = [
    { path: 'package.json', text: packageJson(service) },
    { path: 'service.json', text: manifest(service) },
    { path: 'src/main.ts', text: main(service) },
    { path: 'src/app.ts', text: app(service) },
    ...service.serves.map((api) => ({ path: `src/${kebab(api.name)}.ts`, text: implementation(service, api) })),
    { path: `test/${service.name}.test.ts`, text: test(service, model) },
  ];
  if (service.calls.length > 0) files.push({ path: 'src/clients.ts', text: clients(service) });
  if (service.database) {
    files.push(
      { path: 'migrations/0001_records.sql', text: firstMigration(service) },
      { path: 'src/database.ts', text: databaseAccessor(service) },
    );
  }
  return files;
}

function packageJson({ name, versions, database }: NewService): string {
  return `${JSON.stringify(
    {
      name,
      version: '0.1.0',
      private: true,
      type: 'module',
      scripts: { build: 'tsup --config ../tsup.service.config.ts', start: 'node dist/main.js' },
      dependencies: {
        ...(database ? { '@taco-run/database': 'workspace:*' } : {}),
        '@taco-run/generated': 'workspace:*',
        '@taco-run/rpc': 'workspace:*',
        '@taco-run/service': 'workspace:*',
        fastify: versions.fastify,
        zod: versions.zod,
      },
      devDependencies: { undici: versions.undici },
    },
    null,
    2,
  )}\n`;
}

function manifest({ port, serves, calls, basePath, database }: NewService): string {
  return `${JSON.stringify(
    {
      $schema: '../../packages/project/service.schema.json',
      port,
      ...(serves.length > 0 ? { serves: serves.map((api) => api.name) } : {}),
      ...(basePath !== '/oto/' ? { basePath } : {}),
      ...(calls.length > 0 ? { calls: calls.map((callee) => callee.name) } : {}),
      ...(database ? { database: {} } : {}),
    },
    null,
    2,
  )}\n`;
}

/** `TACOSERVER_URL`: where a callee is, as an environment variable. */
function urlVariable(callee: string): string {
  return `${callee.toUpperCase().replaceAll('-', '_')}_URL`;
}

function main({ name, port, calls, database }: NewService): string {
  const imports = [
    'logLevel',
    'parseEnv',
    'port',
    'serve',
    'start',
    ...(calls.length > 0 ? ['httpUrl'] : []),
    ...(database ? ['postgresUrl'] : []),
  ].sort();
  const urls = calls.map(
    (callee) => `    ${urlVariable(callee.name)}: httpUrl('http://${callee.name}${callee.basePath}'),`,
  );
  return `import { ${imports.join(', ')} } from '@taco-run/service';
import { z } from 'zod';
import { buildApp } from './app.js';

start('${name}', async () => {
  const env = parseEnv({
    PORT: port(${port}),
${urls.length > 0 ? `    // Short names: runsd sends them to the service here under pnpm dev, and to its Cloud Run URL in the cloud.\n${urls.join('\n')}\n` : ''}    LOG_LEVEL: logLevel,
    GOOGLE_CLOUD_PROJECT: z.string().optional(),
${database ? `    // Its own PostgreSQL, which the tools set: PGlite under pnpm dev, a real server in the tests.\n    DATABASE_URL: postgresUrl,\n` : ''}  });
  const app = buildApp({
${calls.length > 0 ? `    urls: { ${calls.map((callee) => `${quoteKey(callee.name)}: env.${urlVariable(callee.name)}`).join(', ')} },\n` : ''}    logLevel: env.LOG_LEVEL,
    project: env.GOOGLE_CLOUD_PROJECT,
${database ? '    databaseUrl: env.DATABASE_URL,\n' : ''}  });
  await serve(app, { name: '${name}', port: env.PORT });
});
`;
}

function app({ name, serves, calls, basePath, database }: NewService): string {
  const options = `${pascal(name)}Options`;
  const opened = `open${pascal(name)}Database`;
  const imports = [
    ...(serves.length > 0
      ? [`import { ${serves.map((api) => `register${api.name}`).join(', ')} } from '@taco-run/generated/server';`]
      : []),
    `import { createServiceApp, ${serves.length > 0 ? 'logArrivals, ' : ''}type ServiceAppOptions } from '@taco-run/service';`,
    `import type { FastifyInstance } from 'fastify';`,
    ...(calls.length > 0 ? [`import { type Clients, createClients } from './clients.js';`] : []),
    ...(database ? [`import { ${opened} } from './database.js';`] : []),
    ...serves.map((api) => `import { ${camel(api.name)} } from './${kebab(api.name)}.js';`),
  ];
  const clientsArgument = [...(database ? ['database'] : []), ...(calls.length > 0 ? ['clients'] : [])].join(', ');
  const destructured = [...(calls.length > 0 ? ['urls'] : []), ...(database ? ['databaseUrl'] : [])];
  const registrations = serves.map(
    (api) =>
      `    register${api.name}(rpc, ${camel(api.name)}(${clientsArgument})${basePath === '/oto/' ? '' : `, { basePath: '${basePath}' }`});`,
  );
  return `${imports.join('\n')}

export interface ${options} extends Omit<ServiceAppOptions, 'name'> {
${calls.length > 0 ? `  /** Where the services ${name} calls are: short names, which runsd resolves. */\n  urls: Clients['urls'];\n` : ''}${database ? `  /** ${name}'s own PostgreSQL: DATABASE_URL, which the tools set. Connected to at the first query. */\n  databaseUrl: string;\n` : ''}}

/** ${name}: Cloud Run's contract from @taco-run/service (logging, /healthz), and ${serves.length > 0 ? serves.map((api) => api.name).join(' and ') : 'your routes'}. */
export function buildApp(${destructured.length > 0 ? `{ ${destructured.join(', ')}, ...options }` : 'options'}: ${options}${destructured.length > 0 ? '' : ' = {}'}): FastifyInstance {
  const app = createServiceApp({ name: '${name}', ...options });
${calls.length > 0 ? '  const clients = createClients(urls);\n' : ''}${
  database
    ? `  const database = ${opened}(databaseUrl, app.log);
  // After the last request has drained: its queries are done by then.
  app.addHook('onClose', () => database.close());
`
    : ''
}${
  serves.length > 0
    ? `  // A scope of its own, so arrivals are logged (at debug) for RPC requests and not for health probes.
  app.register(async (rpc) => {
    logArrivals(rpc);
${registrations.join('\n')}
  });
`
    : `  // Your routes go here${calls.length > 0 ? `; app.clients calls the services ${name} calls` : ''}${database ? `; app.database is ${name}'s database` : ''}.
${calls.length > 0 ? "  app.decorate('clients', clients);\n" : ''}${database ? "  app.decorate('database', database);\n" : ''}`
}  return app;
}
`;
}

function clients({ name, calls }: NewService): string {
  const apis = calls.flatMap((callee) => callee.apis.map((api) => ({ callee: callee.name, api })));
  // Keyed by API; should two callees serve the same one, by callee and API.
  const key = ({ callee, api }: { callee: string; api: string }) =>
    apis.filter((other) => other.api === api).length > 1 ? camel(`${callee}-${api}`) : camel(api);
  const imported = [...new Set(apis.map(({ api }) => `${api}Client`))].sort();
  return `${imported.length > 0 ? `import { ${imported.join(', ')} } from '@taco-run/generated/client';\n` : ''}
/** Where the services ${name} calls are, by their short names. */
export interface CalleeUrls {
${calls.map((callee) => `  ${quoteKey(callee.name)}: string;`).join('\n')}
}

/**
 * A client for each API of each service ${name} calls. Each goes through
 * undici's global dispatcher, where runsd adds the service discovery and the
 * identity token: the code is the same under pnpm dev and on Cloud Run.
 */
export function createClients(urls: CalleeUrls) {
  return {
    urls,
${apis.map((entry) => `    ${key(entry)}: new ${entry.api}Client(${member('urls', entry.callee)}),`).join('\n')}
  };
}

export type Clients = ReturnType<typeof createClients>;
`;
}

function implementation({ name, calls, database }: NewService, api: Api): string {
  const takesClients = calls.length > 0;
  const parameters = [
    ...(database ? [`_database: ${pascal(name)}Database`] : []),
    ...(takesClients ? ['_clients: Clients'] : []),
  ];
  const stubs = api.methods.map(
    (
      method,
    ) => `${method.comment === '' ? '' : `    /** ${method.comment.split('\n')[0]} */\n`}    ${method.nameLowerCamel}() {
      throw new RpcError('unimplemented', '${api.name}.${method.name} is not implemented yet');
    },`,
  );
  return `import type { ${api.name} } from '@taco-run/generated/server';
import { RpcError } from '@taco-run/rpc';
${takesClients ? "import type { Clients } from './clients.js';\n" : ''}${database ? `import type { ${pascal(name)}Database } from './database.js';\n` : ''}
/**
 * ${api.name}, as ${name} serves it. Each method answers \`unimplemented\` (501)
 * until you write it: give it its parameters, \`(request, context)\`, and return
 * its response.${database ? ` \`_database\` is ${name}'s own database (name it \`database\` once a method queries it).` : ''}${takesClients ? ` \`_clients\` calls the services ${name} calls (name it \`clients\` once a method does).` : ''}
 */
export function ${camel(api.name)}(${parameters.join(', ')}): ${api.name} {
  return {
${stubs.join('\n')}
  };
}
`;
}

function test({ name, serves, calls, basePath, database }: NewService, model: Model): string {
  const opened = `open${pascal(name)}Database`;
  const urls = calls.map((callee) => `${quoteKey(callee.name)}: 'http://${callee.name}${callee.basePath}'`).join(', ');
  const methods = serves.flatMap((api) => api.methods.map((method) => ({ api, method })));
  // One fake per callee, serving every API it serves.
  const fakeOf = new Map<string, { callee: NewService['calls'][number]; apis: Api[] }>();
  for (const callee of calls) {
    const apis = model.services.filter((candidate) => callee.apis.includes(candidate.name));
    if (apis.length > 0) fakeOf.set(callee.name, { callee, apis });
  }
  const fakeFunctions = [...new Set([...fakeOf.values()].flatMap(({ apis }) => apis.map((api) => `fake${api.name}`)))];
  const fakeStarts = [...fakeOf.values()].map(({ callee, apis }) => {
    const fakes = apis.map((api) => {
      const answers = api.methods.flatMap((method) => {
        const example = exampleObject(model, method.outputObject);
        return example === undefined ? [] : [`${method.nameLowerCamel}: () => (${JSON.stringify(example)}),`];
      });
      return `fake${api.name}({ ${answers.join(' ')} })`;
    });
    const served = fakes.length === 1 ? fakes[0] : `[${fakes.join(', ')}]`;
    const basePathOption = callee.basePath === '/oto/' ? '' : `, { basePath: '${callee.basePath}' }`;
    return `    ${camel(callee.name)} = await serveFake(${served}${basePathOption});`;
  });
  const clientNames = [...new Set(methods.map(({ api }) => `${api.name}Client`))].sort();
  const checks = methods.map(({ api, method }) => {
    const required = (model.objects.find((object) => object.name === method.outputObject)?.fields ?? [])
      .filter((field) => !field.optional)
      .map((field) => field.name);
    return `
  it('answers ${api.name}.${method.name}: unimplemented until it is written, then as the API says', async () => {
    const client = new ${api.name}Client(\`\${origin}${basePath}\`);
    const answer: unknown = await client
      .${method.nameLowerCamel}(${JSON.stringify(exampleObject(model, method.inputObject) ?? {})})
      .catch((error: unknown) => error);
    if (isRpcError(answer)) {
      // The stub. Once the method is written, say here what it should answer.
      expect([answer.code, answer.message]).toEqual(['unimplemented', '${api.name}.${method.name} is not implemented yet']);
    } else {
      // Checked against the API before it was sent: every field the API requires is there.
      expect(Object.keys(answer as object)).toEqual(expect.arrayContaining(${JSON.stringify(required)}));
    }
  });`;
  });
  const imports = [
    ...(database
      ? [
          "import { fileURLToPath } from 'node:url';",
          "import { embeddedTestDatabase } from '@taco-run/database/testing';",
        ]
      : []),
    ...(clientNames.length > 0 ? [`import { ${clientNames.join(', ')} } from '@taco-run/generated/client';`] : []),
    ...(fakeFunctions.length > 0
      ? [`import { ${fakeFunctions.sort().join(', ')} } from '@taco-run/generated/fakes';`]
      : []),
    ...(checks.length > 0 ? ["import { isRpcError } from '@taco-run/rpc';"] : []),
    `import { ${fakeOf.size > 0 ? 'type Fake, listenOnLoopback, routeShortNames, serveFake' : 'listenOnLoopback'} } from '@taco-run/rpc/testing';`,
    "import type { FastifyInstance } from 'fastify';",
    "import { request } from 'undici';",
    "import { afterAll, beforeAll, describe, expect, it } from 'vitest';",
    "import { buildApp } from '../src/app.js';",
    ...(database ? [`import { ${opened} } from '../src/database.js';`] : []),
  ];
  const fakeNames = [...fakeOf.keys()].map(camel);
  const setUp =
    fakeOf.size === 0
      ? ''
      : `    // The services ${name} calls, faked: each answers through the real protocol, here with its API's
    // examples. Give each the answers your test needs; its \`calls\` say what ${name} asked it.
${fakeStarts.join('\n')}
    // http://<name>/ reaches the fakes, as runsd takes it to the real services.
    unroute = routeShortNames({ ${[...fakeOf.keys()].map((callee) => `${quoteKey(callee)}: ${camel(callee)}.origin`).join(', ')} });
`;
  return `${imports.join('\n')}

// ${name} on loopback, called as its callers call it${fakeOf.size > 0 ? ', with the services it calls faked' : ''}.
${
  database
    ? `
// Its own database, in this process (PGlite, nothing to install), migrated as pnpm dev migrates it. For a real
// PostgreSQL server, as the example's tests use: serviceTestDatabase, from the same module.
const database = embeddedTestDatabase(fileURLToPath(new URL('../../../', import.meta.url)), '${name}');
`
    : ''
}
describe('${name}', () => {
  let app: FastifyInstance;
  let origin: string;
${fakeNames.map((fake) => `  let ${fake}: Fake;`).join('\n')}${fakeOf.size > 0 ? '\n  let unroute: () => Promise<void>;' : ''}

  beforeAll(async () => {
${database ? '    await database.start();\n' : ''}${setUp}    app = buildApp({ ${calls.length > 0 ? `urls: { ${urls} }, ` : ''}${database ? 'databaseUrl: database.url, ' : ''}logLevel: 'warn' });
    origin = await listenOnLoopback(app);
  }${database ? ', 60_000' : ''});

  afterAll(async () => {
    await app.close();
${fakeOf.size > 0 ? `    await unroute();\n${fakeNames.map((fake) => `    await ${fake}.close();\n`).join('')}` : ''}${database ? '    await database.stop();\n' : ''}  });

  it('answers its health check', async () => {
    const response = await request(\`\${origin}/healthz\`);
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toEqual({ status: 'ok', service: '${name}' });
  });
${
  database
    ? `
  it('reaches its own database, migrated: the records table is there, empty', async () => {
    const own = ${opened}(database.url, app.log);
    try {
      const db = await own.kysely();
      expect(await db.selectFrom('records').selectAll().execute()).toEqual([]);
    } finally {
      await own.close();
    }
  });
`
    : ''
}${checks.join('\n')}
});
`;
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z\d])/g, (_, _dash, letter: string) => letter.toUpperCase());
}

function camel(name: string): string {
  const text = pascal(name);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

function kebab(name: string): string {
  return name.replace(/([a-z\d])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `urls.tacoserver`, or `urls['menu-server']` where the name is not an identifier. */
function member(object: string, name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? `${object}.${name}` : `${object}['${name}']`;
}

function quoteKey(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`;
}

function firstMigration({ name }: NewService): string {
  return `-- ${name}'s first table: make it what ${name} keeps. Once a migration has been applied anywhere, leave it
-- as it is and change the schema in the next file, 0002_<what>.sql: pnpm dev applies each as you save it.
create table records (
  id bigint generated always as identity primary key,
  created_at timestamptz not null default now()
);
`;
}

function databaseAccessor({ name }: NewService): string {
  const type = `${pascal(name)}Database`;
  return `import { type DatabaseLog, openDatabase, type ServiceDatabase } from '@taco-run/database';
import { schema, type Tables } from './database.generated.js';

/** ${name}'s own database, its tables typed from its migrations (\`pnpm generate\` writes database.generated.ts). */
export type ${type} = ServiceDatabase<Tables>;

/**
 * Opens it, lazily: the first query connects, and checks that every migration ${name} ships is applied.
 * \`await database.kysely()\` gives the query builder.
 */
export function open${type}(url: string, log: DatabaseLog): ${type} {
  return openDatabase<Tables>({ url, log, ...schema });
}
`;
}
