/**
 * Hot reload's eyes: one chokidar watcher over the plugin directories that
 * tells the manager which entry changed (a plugin's directory, or a file
 * hst-plugin-<name>), once things have been quiet for the debounce time, so
 * that a build writing many files reloads once.
 */
import { basename, relative, resolve, sep } from 'node:path';
import type { FSWatcher } from 'chokidar';

export interface HotReloadOptions {
  /** Quiet time after the last change before the plugin reloads (default 500 ms). */
  debounceMs?: number;
  /** How long the replaced version may finish its calls before it is stopped (default 10 s). */
  drainMs?: number;
}

export const DEFAULT_DEBOUNCE_MS = 500;
export const DEFAULT_DRAIN_MS = 10_000;

/** Editors' swap and backup files, and dotfiles: saving a manifest must not count twice, nor a swap file once. */
export function ignorable(path: string): boolean {
  const name = basename(path);
  // A plugin's node_modules (a project made by hst new has one) churns with every npm install; what runs is the bundle beside it.
  return name === 'node_modules' || name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.swx');
}

export class PluginDirWatcher {
  private watcher: FSWatcher | undefined;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  /** `onSettled(root, entry)` gets the plugin directory and the entry in it that changed. */
  constructor(
    private readonly roots: readonly string[],
    private readonly onSettled: (root: string, entry: string) => void,
    private readonly debounceMs = DEFAULT_DEBOUNCE_MS,
  ) {}

  /** Resolves once the directories are being watched: changes from then on are seen. */
  async start(): Promise<void> {
    // chokidar loads with the first watcher, not with every manager.
    const { watch } = await import('chokidar');
    if (this.closed) return;
    const roots = this.roots.map((root) => resolve(root));
    this.watcher = watch(roots, {
      ignoreInitial: true,
      // <root>/<plugin>/bin/<binary> is as deep as a plugin's files go that matter; hst-chunks/ sits at the same depth.
      depth: 3,
      ignored: (path: string) => ignorable(path) && !roots.includes(path),
    });
    this.watcher.on('all', (_event, path) => {
      const root = roots.find((r) => path === r || path.startsWith(`${r}${sep}`));
      if (!root || path === root) return;
      const entry = relative(root, path).split(sep)[0] as string;
      this.changed(root, entry);
    });
    await new Promise<void>((ready, failed) => {
      this.watcher?.once('ready', ready);
      this.watcher?.once('error', failed);
    });
  }

  private changed(root: string, entry: string): void {
    const key = `${root}${sep}${entry}`;
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!this.closed) this.onSettled(root, entry);
      }, this.debounceMs),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await this.watcher?.close();
  }
}
