import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The workspace as pnpm sees it: its packages' dependencies on each other, and
// the root's scripts as a user meets them (pnpm echoes each one it runs).

const root = fileURLToPath(new URL('../../../', import.meta.url));
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** The folders pnpm-workspace.yaml's globs name: `dir` or `dir/*`, the only forms it uses. */
function workspaceFolders(): string[] {
  const lines = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8').split('\n');
  const globs = lines.flatMap((line) => /^\s+-\s+(\S+)/.exec(line)?.[1] ?? []);
  return globs.flatMap((glob) => {
    const folders = glob.endsWith('/*')
      ? readdirSync(join(root, glob.slice(0, -2)), { withFileTypes: true })
          .filter((entry) => entry.isDirectory())
          .map((entry) => join(glob.slice(0, -2), entry.name))
      : [glob];
    return folders.filter((folder) => existsSync(join(root, folder, 'package.json')));
  });
}

describe('the workspace', () => {
  it('has no cycle between its packages', () => {
    const edges = new Map<string, string[]>();
    for (const folder of workspaceFolders()) {
      const manifest = json(join(root, folder, 'package.json'));
      const dependencies = { ...manifest.dependencies, ...manifest.devDependencies };
      edges.set(
        manifest.name,
        Object.entries(dependencies).flatMap(([name, version]) =>
          String(version).startsWith('workspace:') ? [String(version).match(/^workspace:(@?[^@]+)@/)?.[1] ?? name] : [],
        ),
      );
    }
    expect(edges.size).toBeGreaterThan(10);

    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (path.includes(name)) {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' -> '));
        return;
      }
      if (done.has(name)) return;
      for (const next of edges.get(name) ?? []) visit(next, [...path, name]);
      done.add(name);
    };
    for (const name of edges.keys()) visit(name, []);
    expect(cycles).toEqual([]);
  });

  it("keeps each root script one short command, so pnpm's echo of it is one short line", () => {
    const { scripts } = json(join(root, 'package.json'));
    const long = Object.entries(scripts as Record<string, string>).filter(([, command]) => command.length > 72);
    expect(long).toEqual([]);
  });

  it('runs a tool script only through a name the launcher knows, and says the names it knows to any other', () => {
    const { scripts } = json(join(root, 'package.json'));
    const launched = Object.entries(scripts as Record<string, string>).filter(([, command]) =>
      command.startsWith('node scripts/run.mjs '),
    );
    expect(launched.map(([name, command]) => [name, command])).toEqual(
      launched.map(([name]) => [name, `node scripts/run.mjs ${name}`]),
    );
    const unknown = spawnSync(process.execPath, [join(root, 'scripts/run.mjs'), 'nosuch'], { encoding: 'utf8' });
    expect(unknown.status).toBe(2);
    const known = /^scripts\/run\.mjs: no script "nosuch"; one of: (.+)\n$/.exec(unknown.stderr)?.[1]?.split(', ');
    expect(known?.sort()).toEqual(launched.map(([name]) => name).sort());
  });
});
