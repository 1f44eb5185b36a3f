import { existsSync } from 'node:fs';
import { isAbsolute, normalize, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GeneratedFile, Target } from './generate.js';
import type { Model } from './model.js';

/**
 * A renderer of your own: what a module named in a target's `renderers`
 * exports as its default. It gets the model, as `otogen model` prints it,
 * and the target, and returns files whose paths are under the target's `out`.
 * otogen writes them, and `generate --check` holds them to the definitions,
 * as it does its own.
 */
export type Renderer = (model: Model, target: Readonly<Target>) => GeneratedFile[] | Promise<GeneratedFile[]>;

/** A renderer that cannot be loaded, fails, or returns something other than files: said in one line. */
export class RendererError extends Error {
  override readonly name = 'RendererError';
}

/** The files of every renderer a target names, in the order named. */
export async function renderWithOwnRenderers(model: Model, target: Target, root: string): Promise<GeneratedFile[]> {
  const files: GeneratedFile[] = [];
  for (const path of target.renderers ?? []) {
    const render = await loadRenderer(path, root);
    let produced: unknown;
    try {
      produced = await render(model, target);
    } catch (error) {
      throw new RendererError(`renderer ${path} failed: ${(error as Error).message}`);
    }
    files.push(...checkedFiles(produced, path));
  }
  return files;
}

async function loadRenderer(path: string, root: string): Promise<Renderer> {
  const file = resolve(root, path);
  if (!existsSync(file)) throw new RendererError(`renderer ${path} not found (renderers are relative to ${root})`);
  const url = /\.[cm]?ts$/.test(file) ? await compiled(file, path) : pathToFileURL(file).href;
  let loaded: { default?: unknown };
  try {
    loaded = (await import(url)) as { default?: unknown };
  } catch (error) {
    throw new RendererError(`renderer ${path} could not be loaded: ${(error as Error).message}`);
  }
  if (typeof loaded.default !== 'function') {
    throw new RendererError(`renderer ${path} must export a default function: (model, target) => [{ path, text }]`);
  }
  return loaded.default as Renderer;
}

/**
 * A TypeScript renderer as one module of JavaScript: Node 20 cannot import
 * `.ts`, so it is bundled with the esbuild already in the toolchain (tsup's),
 * with whatever it imports, and imported from a data: URL, leaving no file behind.
 */
async function compiled(file: string, path: string): Promise<string> {
  const { build } = await import('esbuild');
  try {
    const result = await build({
      entryPoints: [file],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    const code = result.outputFiles[0]?.text ?? '';
    return `data:text/javascript;base64,${Buffer.from(code).toString('base64')}`;
  } catch (error) {
    const [first] = (error as { errors?: { text: string; location?: { file: string; line: number } | null }[] })
      .errors ?? [{ text: (error as Error).message }];
    const where = first?.location ? ` at ${first.location.file}:${first.location.line}` : '';
    throw new RendererError(`renderer ${path} could not be compiled${where}: ${first?.text}`);
  }
}

/** What a renderer returned, held to `[{ path, text }]` with every path inside the target's `out`. */
function checkedFiles(produced: unknown, renderer: string): GeneratedFile[] {
  if (!Array.isArray(produced)) throw new RendererError(`renderer ${renderer} must return an array of { path, text }`);
  return produced.map((file: unknown) => {
    const { path, text } = (file ?? {}) as Partial<GeneratedFile>;
    if (typeof path !== 'string' || typeof text !== 'string') {
      throw new RendererError(`renderer ${renderer} returned ${JSON.stringify(file)}, not { path, text }`);
    }
    if (isAbsolute(path) || normalize(path).split(/[\\/]/)[0] === '..') {
      throw new RendererError(`renderer ${renderer} may write only under the target's out; ${path} is outside it`);
    }
    return { path: normalize(path), text };
  });
}
