import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { classifyAddress } from '../policy/ip-classes.js';
import { InspectSetupError } from '../model/setup-error.js';

export const UI_TOKEN_FILE = 'ui-token';

/** Only a UI bound to loopback may go without a token (0.0.0.0 is every interface, not loopback). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  return isIP(h) !== 0 && classifyAddress(h).cls === 'loopback';
}

/**
 * A fresh random token in <dir>/ui-token (0600) for a UI that is reachable from other hosts.
 * Only the file's path is ever logged; the token itself stays in the file.
 */
export async function writeUiToken(dir: string): Promise<{ token: string; file: string }> {
  const token = randomBytes(32).toString('base64url');
  const file = join(dir, UI_TOKEN_FILE);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(file, `${token}\n`, { mode: 0o600 });
    // writeFile keeps the mode of a file that already exists.
    await chmod(file, 0o600);
  } catch (err) {
    throw new InspectSetupError(
      `cannot write the inspect UI token to ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
        'make --ca-dir writable, or bind the UI to loopback (--ui 127.0.0.1:8081) where no token is needed',
    );
  }
  return { token, file };
}
