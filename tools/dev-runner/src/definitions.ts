import { join } from 'node:path';
import {
  ConfigError,
  DefinitionError,
  generateDatabases,
  generateTarget,
  loadConfig,
  writeChangedFiles,
  writeFiles,
} from '@taco-run/otogen';

export type Regenerated = { ok: true; ms: number; written: string[] } | { ok: false; problems: string[] };

/**
 * otogen, run in this process on every target of the project's config, as
 * `pnpm generate` runs it: the generated code follows the definitions under
 * `pnpm dev`. A definition with a problem writes nothing, so the services
 * keep running on the last good code.
 */
export async function regenerate(root: string): Promise<Regenerated> {
  const started = performance.now();
  const written: string[] = [];
  try {
    for (const target of (await loadConfig(root)).targets) {
      written.push(...(await writeFiles(target, await generateTarget(target, root), root)));
    }
  } catch (error) {
    if (error instanceof DefinitionError) {
      return { ok: false, problems: error.problems.map(({ file, line, reason }) => `${file}:${line}: ${reason}`) };
    }
    return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
  return { ok: true, ms: Math.round(performance.now() - started), written };
}

/** The files and folders the definitions come from, as absolute paths: none when the project has no definitions. */
export async function definitionPaths(root: string): Promise<string[]> {
  try {
    const { targets } = await loadConfig(root);
    return targets.flatMap((target) => target.definitions.map((path) => join(root, path)));
  } catch (error) {
    if (error instanceof ConfigError) return [];
    throw error;
  }
}

/**
 * Each service's row types, from its migrations, as `pnpm generate` writes
 * them: the paths written (relative to root), only those that changed.
 */
export async function regenerateDatabaseTypes(root: string): Promise<Regenerated> {
  const started = performance.now();
  let written: string[];
  try {
    written = await writeChangedFiles(await generateDatabases(root), '', root);
  } catch (error) {
    return { ok: false, problems: [error instanceof Error ? error.message : String(error)] };
  }
  return { ok: true, ms: Math.round(performance.now() - started), written };
}
