import type { AddressInfo, Server } from 'node:net';

/**
 * How a cluster worker binds (server/workers-primary.ts): `exclusive` keeps the socket in this
 * process instead of asking the primary for a shared handle; `reusePort` (SO_REUSEPORT, Node
 * 22.12+) lets every worker bind the same port and the kernel spread new connections.
 */
export interface BindOptions {
  exclusive?: boolean;
  reusePort?: boolean;
  /**
   * The kernel's queue of connections not yet accepted. Node's default is 511: a burst of a few
   * thousand new tunnels (a deployment's pods all starting) overflowed it and clients saw resets
   * with nothing in the log. The kernel caps it at net.core.somaxconn (4096 on current kernels).
   */
  backlog?: number;
}

/** Binds a server, rejecting with the bind error (EADDRINUSE, EACCES) instead of emitting it. */
export function listen(server: Server, host: string, port: number, bind: BindOptions = {}): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ...bind }, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
