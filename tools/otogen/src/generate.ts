import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { formatFiles } from './format.js';
import { type ApiHost, apiHosts } from './hosts.js';
import type { Model } from './model.js';
import { type DefinitionFile, parseDefinitions } from './parser.js';
import { renderApiMarkdown } from './render/api-md.js';
import { renderClient, renderShapes } from './render/client.js';
import { renderFakes } from './render/fakes.js';
import { renderGo } from './render/go.js';
import { renderIndex } from './render/index.js';
import { renderOpenApi } from './render/openapi.js';
import { renderSchemas } from './render/schemas.js';
import { renderSerializers } from './render/serializers.js';
import { renderServer } from './render/server.js';
import { renderTypes } from './render/types.js';
import { renderValidators } from './render/validators.js';
import { RendererError, renderWithOwnRenderers } from './renderers.js';

/** One set of definitions and where its generated package lives (a row of otogen.config.json). */
export interface Target {
  /** Definition files, or folders whose `.ts` files (all of them, at any depth) are definitions. */
  definitions: string[];
  out: string;
  /** The title of API.md and openapi.json. Default: the service names (or "No API yet" while there are none). */
  title?: string;
  /** openapi.json's info.version. Default 0.1.0. */
  version?: string;
  /** The base path the routes are documented at. Default /oto/. */
  basePath?: string;
  /** The package generated code imports the runtime from. Default @taco-run/rpc. */
  runtime?: string;
  /**
   * Renderers of your own, relative to the project's root: modules (`.ts`
   * or `.js`) whose default export turns the model into more files under
   * `out`. See `Renderer`.
   */
  renderers?: string[];
}

export interface GeneratedFile {
  /** Relative to the target's `out`. */
  path: string;
  text: string;
}

/** Without otogen.config.json: every file in packages/definitions/src, generated into packages/generated. */
export const defaultTarget: Target = { definitions: ['packages/definitions/src'], out: 'packages/generated' };

/** The definition files a target names, in a stable order: folders give their `.ts` files, sorted. */
export async function readDefinitions(paths: readonly string[], root: string): Promise<DefinitionFile[]> {
  const files: string[] = [];
  for (const path of paths) {
    const full = join(root, path);
    if (!(await stat(full).catch(() => undefined))?.isDirectory()) {
      files.push(relative(root, full));
      continue;
    }
    const entries = await readdir(full, { recursive: true, withFileTypes: true });
    files.push(
      ...entries
        .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
        .map((entry) => relative(root, join(entry.parentPath, entry.name)))
        .sort(),
    );
  }
  return Promise.all(files.map(async (fileName) => ({ fileName, text: await readFile(join(root, fileName), 'utf8') })));
}

/**
 * Every file of a target, rendered from the model and, for the docs, the
 * services that serve its APIs. Pure: the same input gives the same bytes.
 */
export function render(model: Model, target: Target, hosts: readonly ApiHost[] = []): GeneratedFile[] {
  const runtime = target.runtime ?? '@taco-run/rpc';
  const docs = {
    basePath: target.basePath ?? '/oto/',
    title: target.title ?? (model.services.map((service) => service.name).join(', ') || 'No API yet'),
    hosts,
  };
  return [
    { path: 'src/types.ts', text: renderTypes(model) },
    { path: 'src/schemas.ts', text: renderSchemas(model, runtime) },
    { path: 'src/server.ts', text: renderServer(model, runtime) },
    // The request validators and response checks, and the response serializers, compiled ahead of time.
    ...withDeclarations('src/validators', renderValidators(model, runtime)),
    ...withDeclarations('src/serializers', renderSerializers(model, runtime)),
    { path: 'src/shapes.ts', text: renderShapes(model, runtime) },
    { path: 'src/client.ts', text: renderClient(model, runtime, 'node') },
    { path: 'src/web.ts', text: renderClient(model, runtime, 'web') },
    { path: 'src/fakes.ts', text: renderFakes(model, runtime) },
    { path: 'src/index.ts', text: renderIndex(model, runtime) },
    { path: 'docs/API.md', text: renderApiMarkdown(model, docs) },
    { path: 'docs/openapi.json', text: renderOpenApi(model, { ...docs, version: target.version ?? '0.1.0' }) },
    // The model itself, as `otogen model` prints it: the tools learn the APIs and their methods from it.
    { path: 'model.json', text: `${JSON.stringify(model, null, 2)}\n` },
    // The same API as oto definitions, for Go teams: `otogen go` prints it.
    { path: 'definitions.go', text: renderGo(model, { title: docs.title }) },
  ];
}

/** A JavaScript module otogen writes as precompiled code, beside the declarations that type it. */
function withDeclarations(stem: string, { js, dts }: { js: string; dts: string }): GeneratedFile[] {
  return [
    { path: `${stem}.js`, text: js },
    { path: `${stem}.d.ts`, text: dts },
  ];
}

/** A target's files as they are committed: rendered, then formatted by the project's own rules. */
export async function generateTarget(target: Target, root: string): Promise<GeneratedFile[]> {
  const model = parseDefinitions(await readDefinitions(target.definitions, root));
  const files = [
    ...render(model, target, apiHosts(root, model)),
    ...(await renderWithOwnRenderers(model, target, root)),
  ];
  const paths = new Set<string>();
  for (const { path } of files) {
    if (paths.has(path)) throw new RendererError(`two renderers write ${join(target.out, path)}`);
    paths.add(path);
  }
  return formatFiles(files, target.out, root);
}

/** What differs between the generated files and what is on disk, as paths relative to root. */
export async function staleFiles(target: Target, files: readonly GeneratedFile[], root: string): Promise<string[]> {
  const stale = await differingFiles(files, target.out, root);
  // A file left behind by a renamed or removed output is stale too.
  const expected = new Set(files.map((file) => join(root, target.out, file.path)));
  for (const folder of ['src', 'docs']) {
    const entries = await readdir(join(root, target.out, folder)).catch(() => [] as string[]);
    for (const entry of entries) {
      const path = join(root, target.out, folder, entry);
      if (!expected.has(path)) stale.push(`${relative(root, path)} (not generated from the definitions)`);
    }
  }
  return stale;
}

/**
 * Writes the files whose text differs from what is on disk, and only those,
 * so that a watcher (`pnpm dev`'s) sees a change exactly where the generated
 * code changed. Returns their paths relative to root.
 */
export function writeFiles(target: Target, files: readonly GeneratedFile[], root: string): Promise<string[]> {
  return writeChangedFiles(files, target.out, root);
}

/** Of files under `dir` (relative to root), those whose text differs from what is on disk, as paths relative to root. */
export async function differingFiles(files: readonly GeneratedFile[], dir: string, root: string): Promise<string[]> {
  const differing: string[] = [];
  for (const file of files) {
    const path = join(root, dir, file.path);
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== file.text) differing.push(relative(root, path));
  }
  return differing;
}

/** Writes the files under `dir` (relative to root) whose text differs from what is on disk; returns their paths. */
export async function writeChangedFiles(files: readonly GeneratedFile[], dir: string, root: string): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const path = join(root, dir, file.path);
    if ((await readFile(path, 'utf8').catch(() => undefined)) === file.text) continue;
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.text);
    written.push(relative(root, path));
  }
  return written;
}
