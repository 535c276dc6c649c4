import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import bcrypt from 'bcryptjs';

export class HtpasswdError extends Error {
  override readonly name = 'HtpasswdError';
  constructor(
    message: string,
    /** Where the problem is, for the one log line of a failed reload. */
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const CACHE_LIMIT = 1024;

/**
 * Users from an Apache htpasswd file, bcrypt hashes only (htpasswd -B): the MD5/SHA1/crypt
 * formats are too weak to accept for an egress gate. Successful checks are remembered by a
 * digest of user and password, because bcrypt costs tens of milliseconds of CPU and clients
 * send the same credentials on every request.
 */
export class Htpasswd {
  private readonly users: Map<string, string>;
  private readonly verified = new Map<string, Buffer>();

  private constructor(users: Map<string, string>) {
    this.users = users;
  }

  static load(path: string): Htpasswd {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new HtpasswdError(`cannot read htpasswd file ${path}: ${(err as Error).message}`, path);
    }
    return Htpasswd.parse(text, path);
  }

  static parse(text: string, source = 'htpasswd'): Htpasswd {
    const users = new Map<string, string>();
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      const user = line.slice(0, colon);
      const hash = line.slice(colon + 1);
      if (colon <= 0 || !hash) throw new HtpasswdError(`${source}:${i + 1}: expected user:hash`, source, i + 1);
      if (!BCRYPT.test(hash)) {
        throw new HtpasswdError(
          `${source}:${i + 1}: user "${user}" does not have a bcrypt hash; recreate it with: htpasswd -B ${source} ${user}`,
          source,
          i + 1,
        );
      }
      users.set(user, hash);
    });
    if (users.size === 0) throw new HtpasswdError(`${source}: no users`, source);
    return new Htpasswd(users);
  }

  get size(): number {
    return this.users.size;
  }

  async verify(user: string, password: string): Promise<boolean> {
    const hash = this.users.get(user);
    if (!hash) return false;
    const digest = createHash('sha256').update(hash).update('\0').update(password).digest();
    const known = this.verified.get(user);
    if (known && timingSafeEqual(known, digest)) return true;
    // bcryptjs's async compare yields between rounds, so a login does not stall live tunnels.
    const ok = await bcrypt.compare(password, hash);
    if (ok) {
      if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(user, digest);
    }
    return ok;
  }
}
