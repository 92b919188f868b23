import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from dist/src/cli. */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
