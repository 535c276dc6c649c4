import type { AddressInfo, Server } from 'node:net';

/** Binds a server, rejecting with the bind error (EADDRINUSE, EACCES) instead of emitting it. */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
