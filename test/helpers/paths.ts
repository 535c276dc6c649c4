import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** Compiled tests run from dist/test/...; the repository root is three levels above this file. */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(REPO_ROOT, 'bin', 'egresskit');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');
