import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { classifyAddress } from '../policy/ip-classes.js';
import { InspectSetupError } from '../model/setup-error.js';

export const UI_TOKEN_FILE = 'ui-token';
export const UI_TOKEN_ENV = 'EGRESSKIT_UI_TOKEN';
/** A shorter token could be guessed: the UI shows decrypted traffic and can resend it. */
export const MIN_UI_TOKEN_LENGTH = 16;

/** Only a UI bound to loopback may go without a token (0.0.0.0 is every interface, not loopback). */
export function isLoopbackHost(host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (h.toLowerCase() === 'localhost') return true;
  return isIP(h) !== 0 && classifyAddress(h).cls === 'loopback';
}

export interface UiTokenSources {
  /** Where the UI listens: loopback needs no token unless one is given explicitly. */
  bindHost: string;
  /** The CA directory, where a generated token is kept (<caDir>/ui-token). */
  caDir: string;
  /** --ui-token-file (inspect.uiTokenFile), e.g. a mounted Secret. */
  tokenFile?: string;
  /** process.env by default; EGRESSKIT_UI_TOKEN wins over everything. */
  env?: Record<string, string | undefined>;
}

export interface UiToken {
  token: string;
  /** env, file (--ui-token-file), kept (an earlier run's <caDir>/ui-token) or generated. */
  source: 'env' | 'file' | 'kept' | 'generated';
  /** The file the token is in (never the token itself: that is never logged). */
  file?: string;
}

function checked(token: string, where: string, fix: string): string {
  if (token.length === 0) throw new InspectSetupError(`the inspect UI token in ${where} is empty; ${fix}`);
  if (/\s/.test(token)) throw new InspectSetupError(`the inspect UI token in ${where} contains white space; ${fix}`);
  if (token.length < MIN_UI_TOKEN_LENGTH) {
    throw new InspectSetupError(`the inspect UI token in ${where} has ${token.length} characters; use at least ${MIN_UI_TOKEN_LENGTH} (${fix})`);
  }
  return token;
}

const FIX = 'generate one with: openssl rand -base64 32';

/**
 * The UI token: EGRESSKIT_UI_TOKEN, else --ui-token-file, else (a UI beyond loopback) the one
 * in <caDir>/ui-token, made once and kept, so a bookmark or a cookie survives a restart
 * (before, every start made a new one). undefined: loopback and nothing given, no token.
 */
export async function resolveUiToken(src: UiTokenSources): Promise<UiToken | undefined> {
  const fromEnv = (src.env ?? process.env)[UI_TOKEN_ENV];
  if (fromEnv !== undefined) return { token: checked(fromEnv.trim(), UI_TOKEN_ENV, `set it to a random value (${FIX}) or unset it`), source: 'env' };
  if (src.tokenFile !== undefined) {
    const text = await readFile(src.tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new InspectSetupError(`cannot read --ui-token-file ${src.tokenFile} (${err.code ?? err.message}); check the path (a mounted Secret?) or drop the flag to use <ca-dir>/${UI_TOKEN_FILE}`);
    });
    return { token: checked(text.trim(), `--ui-token-file ${src.tokenFile}`, FIX), source: 'file', file: src.tokenFile };
  }
  if (isLoopbackHost(src.bindHost)) return undefined;
  return keptOrNewToken(src.caDir);
}

async function keptOrNewToken(dir: string): Promise<UiToken> {
  const file = join(dir, UI_TOKEN_FILE);
  const fix = `delete ${file} to have a new one made`;
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new InspectSetupError(`cannot read the inspect UI token ${file} (${err.code ?? err.message}); ${fix}, or fix its permissions`);
  });
  if (existing !== undefined) {
    const token = checked(existing.trim(), file, fix);
    // An earlier version (or a hand-made file) may have left it readable by others.
    await chmod(file, 0o600).catch(() => undefined);
    return { token, source: 'kept', file };
  }
  const token = randomBytes(32).toString('base64url');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // wx: two processes starting on one --ca-dir keep one token, not the last writer's.
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return keptOrNewToken(dir);
    throw new InspectSetupError(
      `cannot write the inspect UI token to ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ` +
        `make --ca-dir writable, set ${UI_TOKEN_ENV} or --ui-token-file, or bind the UI to loopback (--ui 127.0.0.1:8081) where no token is needed`,
    );
  }
  return { token, source: 'generated', file };
}
