import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

/** The repository root (the package's, in a checkout). */
export const repoRoot = packageRoot;

/** Where the host keeps its state: HST_DATA_DIR, or .hst in the working directory. */
export function dataDir(): string {
  return process.env.HST_DATA_DIR ?? join(process.cwd(), '.hst');
}
