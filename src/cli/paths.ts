import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/src/cli. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the host keeps its state: HST_DATA_DIR, or .hst in the working directory. */
export function dataDir(): string {
  return process.env.HST_DATA_DIR ?? join(process.cwd(), '.hst');
}
