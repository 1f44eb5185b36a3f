import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Manifest, manifestSchema, serviceNameProblem } from './manifest.js';
import { readMigrations } from './migrations.js';
import { didYouMean } from './spelling.js';

/** One service of the project: its folder's name and its checked manifest. */
export interface Service extends Omit<Manifest, '$schema'> {
  name: string;
  /** `services/<name>`, relative to the project's root. */
  dir: string;
}

/** Every service of the project, checked as a whole. */
export interface Project {
  root: string;
  /** By name. */
  services: readonly Service[];
  /** A service by name; an error that names the known ones when there is none. */
  service(name: string): Service;
  /** The services that call this one: its invokers on Cloud Run, with its own `invokers`. */
  callers(name: string): Service[];
}

/** Wrong manifests: every problem found, each a line that names the file and the field. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export const servicesFolder = 'services';
export const manifestFile = 'service.json';
/** What otogen writes next to the generated code: the APIs the definitions declare. */
export const generatedModel = 'packages/generated/model.json';

/**
 * Reads and checks every `services/<name>/service.json` under `root`. Each
 * manifest is checked alone (its fields, by the schema) and then all of them
 * together: calls name real services, ports are not shared, served APIs are
 * declared in the definitions. Throws ManifestError listing every problem.
 */
export function loadProject(root: string, options: { apis?: readonly string[] } = {}): Project {
  const problems: string[] = [];
  const services: Service[] = [];
  // What the checks of all manifests together read, from every manifest that has it right: a
  // mistake in one field of a manifest hides none of the others.
  const linked: Linked[] = [];
  const folders = serviceFolders(root);
  for (const name of folders) {
    const dir = join(servicesFolder, name);
    const file = join(dir, manifestFile);
    const nameProblem = serviceNameProblem(name);
    if (nameProblem !== undefined) problems.push(`${dir}: ${nameProblem}`);
    const { manifest, json } = readManifest(root, file, problems);
    if (manifest !== undefined) {
      const { $schema: _, ...fields } = manifest;
      services.push({ ...fields, name, dir });
      if (manifest.database !== undefined)
        problems.push(...migrationsProblems(root, dir, manifest.database.migrations));
    }
    linked.push(linkedFields(name, dir, manifest ?? json));
  }
  checkTogether(linked, folders, options.apis ?? declaredApis(root), problems);
  if (problems.length > 0) throw new ManifestError(problems);
  return project(root, services);
}

/** What is wrong with the migrations of a service that has a database, each a line naming its file. */
function migrationsProblems(root: string, dir: string, migrations: string): string[] {
  const folder = join(dir, migrations);
  if (!existsSync(join(root, folder)) || !statSync(join(root, folder)).isDirectory()) {
    return [
      `${join(dir, manifestFile)}: database.migrations: no folder ${folder}; make it, with 0001_<what>.sql as its first migration`,
    ];
  }
  return readMigrations(root, folder).problems;
}

/** The fields that tie a manifest to the others and to the definitions; one that is wrong is left out or empty. */
interface Linked {
  name: string;
  dir: string;
  port?: number;
  serves: readonly string[];
  calls: readonly string[];
}

function linkedFields(name: string, dir: string, json: unknown): Linked {
  const fields = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const strings = (value: unknown) =>
    Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : [];
  return {
    name,
    dir,
    ...(Number.isInteger(fields.port) ? { port: fields.port as number } : {}),
    serves: strings(fields.serves),
    calls: strings(fields.calls),
  };
}

function serviceFolders(root: string): string[] {
  const folder = join(root, servicesFolder);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((entry) => !entry.startsWith('.') && statSync(join(folder, entry)).isDirectory())
    .filter((entry) => !onlyLeftovers(join(folder, entry)))
    .sort();
}

/** What a deleted service leaves behind, which git does not track: its install and its build. */
const leftovers = new Set(['node_modules', 'dist']);

/**
 * A folder holding nothing but a deleted service's leftovers is no service: `git rm` or a pull
 * that deletes one leaves them, and so does `pnpm install` while pnpm-lock.yaml still lists it.
 */
function onlyLeftovers(dir: string): boolean {
  const entries = readdirSync(dir);
  return entries.length > 0 && entries.every((entry) => leftovers.has(entry));
}

function readManifest(root: string, file: string, problems: string[]): { manifest?: Manifest; json?: unknown } {
  let text: string;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    problems.push(
      `${file}: missing; every folder in ${servicesFolder}/ is a service and needs one (pnpm new:service makes it)`,
    );
    return {};
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    problems.push(`${file}: not JSON: ${(error as Error).message}`);
    return {};
  }
  const result = manifestSchema.safeParse(json);
  if (result.success) return { manifest: result.data, json };
  for (const issue of result.error.issues) problems.push(`${file}: ${describeIssue(issue)}`);
  return { json };
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  /** unrecognized_keys: the unknown fields. */
  keys?: string[];
  /** invalid_key: what is wrong with a record's key. */
  issues?: Issue[];
}

function describeIssue(issue: Issue): string {
  const field = issue.path.map(String).join('.');
  if (issue.code === 'invalid_key' && issue.issues?.[0] !== undefined) {
    return `${field}: ${issue.issues[0].message}`;
  }
  if (issue.code === 'unrecognized_keys') {
    const known = Object.keys(manifestSchema.shape);
    return (issue.keys ?? [])
      .map((key) => {
        const near = field === '' ? didYouMean(key, known) : undefined;
        return `${field === '' ? '' : `${field}: `}unknown field "${key}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`;
      })
      .join('; ');
  }
  return `${field === '' ? '' : `${field}: `}${issue.message}`;
}

function checkTogether(
  services: readonly Linked[],
  names: readonly string[],
  apis: readonly string[] | undefined,
  problems: string[],
): void {
  const ports = new Map<number, Linked>();
  for (const service of services) {
    const file = join(service.dir, manifestFile);
    const seen = new Set<string>();
    for (const callee of service.calls) {
      if (callee === service.name) problems.push(`${file}: calls: a service does not call itself ("${callee}")`);
      else if (!names.includes(callee)) {
        const near = didYouMean(callee, names);
        problems.push(
          `${file}: calls: no service "${callee}"${near === undefined ? '' : ` (did you mean "${near}"?)`}`,
        );
      } else if (seen.has(callee)) problems.push(`${file}: calls: "${callee}" is named twice`);
      seen.add(callee);
    }
    if (service.port !== undefined) {
      const owner = ports.get(service.port);
      // Which of the two was changed last is not known here: both files are named.
      if (owner !== undefined)
        problems.push(
          `${file}: port: ${service.port} is ${owner.name}'s port too (${join(owner.dir, manifestFile)}); give each service its own`,
        );
      else ports.set(service.port, service);
    }
    for (const api of service.serves) {
      if (apis === undefined || apis.includes(api)) continue;
      const near = didYouMean(api, apis);
      problems.push(
        `${file}: serves: no definitions file declares "${api}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; declare it in packages/definitions and run \`pnpm generate\``,
      );
    }
  }
}

/**
 * The generated model as the last `pnpm generate` wrote it, or undefined before there is one. Its
 * type, otogen's Model, is the caller's to name: otogen depends on this package, not the other way.
 */
export function readGeneratedModel(root: string): unknown {
  try {
    return JSON.parse(readFileSync(join(root, generatedModel), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The APIs the generated model declares; undefined before there is one. */
export function declaredApis(root: string): string[] | undefined {
  const model = readGeneratedModel(root) as { services?: { name: string }[] } | null | undefined;
  return model?.services?.map((service) => service.name);
}

function project(root: string, services: Service[]): Project {
  return {
    root,
    services,
    service(name) {
      const found = services.find((service) => service.name === name);
      if (found === undefined) {
        throw new ManifestError([
          `no service "${name}"; the services are ${services.map((service) => service.name).join(', ') || 'none yet'}`,
        ]);
      }
      return found;
    },
    callers: (name) => services.filter((service) => service.calls.includes(name)),
  };
}

/**
 * The plain environment a service runs with, wherever it runs: its `env`;
 * REQUEST_TIMEOUT_SECONDS when `cloudRun.timeoutSeconds` sets one, so that the
 * service stops waiting for a stalled request when Cloud Run would give up on
 * it; and CORS_ORIGINS when `cors` lists origins, which its RPC routes allow.
 */
export function serviceEnvironment(service: Service): Record<string, string> {
  const timeout = service.cloudRun.timeoutSeconds;
  return {
    ...service.env,
    ...(timeout === undefined ? {} : { REQUEST_TIMEOUT_SECONDS: String(timeout) }),
    ...(service.cors === undefined ? {} : { CORS_ORIGINS: service.cors.origins.join(',') }),
  };
}
