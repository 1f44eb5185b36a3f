import { type FSWatcher, readdirSync, statSync, watch } from 'node:fs';
import { join, sep } from 'node:path';

export interface Watcher {
  close(): void;
}

/** A save often comes as several events (an editor's write, rename and chmod): they settle into one change. */
const settleMs = 100;

/** Output and installed folders: a build writes the first, and neither is anyone's source. */
const ignored = [`${sep}node_modules${sep}`, `${sep}dist${sep}`, `${sep}.git${sep}`];

/**
 * Watches folders and every folder in them and hands the paths that changed to
 * `onChange` in batches, one batch at a time: changes made while a batch is
 * handled (otogen writing generated code, say) make the next batch.
 */
export function watchFolders(folders: readonly string[], onChange: (paths: Set<string>) => Promise<void>): Watcher {
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let busy = false;

  const flush = async () => {
    timer = undefined;
    if (busy || pending.size === 0) return;
    busy = true;
    const batch = pending;
    pending = new Set();
    try {
      await onChange(batch);
    } finally {
      busy = false;
      if (pending.size > 0) timer = setTimeout(flush, settleMs);
    }
  };

  const watchers = new Map<string, FSWatcher>();
  const changed = (path: string) => {
    if (ignored.some((part) => `${path}${sep}`.includes(part))) return;
    pending.add(path);
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(flush, settleMs);
  };
  // One watcher per folder, not Node's recursive one: on Linux, Node 20's follows a file by its inode,
  // and so goes deaf to a file an editor saved by renaming a new copy over it.
  const watchTree = (folder: string) => {
    if (watchers.has(folder) || !isFolder(folder) || ignored.some((part) => `${folder}${sep}`.includes(part))) return;
    const watcher = watch(folder, (_event, name) => {
      if (name === null) return;
      const path = join(folder, name);
      watchTree(path);
      changed(path);
    });
    watcher.on('error', () => {
      // The folder went away.
      watcher.close();
      watchers.delete(folder);
    });
    watchers.set(folder, watcher);
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      if (entry.isDirectory()) watchTree(join(folder, entry.name));
    }
  };
  for (const folder of folders) watchTree(folder);

  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      for (const watcher of watchers.values()) watcher.close();
    },
  };
}

export function isFolder(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
