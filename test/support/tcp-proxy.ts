import net from "node:net";
import { type ServerProcess, startServerProcess } from "./server-process.js";

/** A TCP proxy the test can cut, to make a server's database unreachable and back. */
export interface TcpProxy {
  port: number;
  /** Drops every open connection and refuses new ones until {@link TcpProxy.resume}. */
  cut(): void;
  /**
   * Stops forwarding what clients send on open connections (it is held back, never delivered),
   * so a query sent now never reaches the database; {@link TcpProxy.cut} ends them.
   */
  freeze(): void;
  /**
   * Cuts the next connection that sends a `COMMIT`: with `"deliver"` the COMMIT reaches the
   * database and only its answer is lost (the client cannot tell whether it committed); with
   * `"drop"` it never arrives.
   */
  cutAtCommit(mode: "deliver" | "drop"): void;
  resume(): void;
  close(): Promise<void>;
}

/** Starts a proxy on a free loopback port forwarding to `targetHost:targetPort`. */
export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let open = true;
  const server = net.createServer((client) => {
    if (!open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    let swallow = false;
    client.on("data", (chunk: Buffer) => {
      if (frozen) return;
      if (commitCut !== undefined && chunk.includes("COMMIT")) {
        const mode = commitCut;
        commitCut = undefined;
        if (mode === "drop") {
          client.destroy();
          upstream.destroy();
          return;
        }
        swallow = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!swallow) {
        client.write(chunk);
        return;
      }
      // The database answered the COMMIT: it committed, and the client never hears it.
      client.destroy();
      upstream.destroy();
    });
    upstream.on("end", () => client.end());
  });
  let frozen = false;
  let commitCut: "deliver" | "drop" | undefined;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    resume() {
      open = true;
      frozen = false;
    },
    freeze() {
      frozen = true;
    },
    cutAtCommit(mode) {
      commitCut = mode;
    },
    close() {
      open = false;
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Starts the server with its database connection running through a proxy the test can cut. */
export async function startServerBehindProxy(
  databaseUrl: string,
  env: Record<string, string>,
): Promise<{ proxy: TcpProxy; server: ServerProcess }> {
  const target = new URL(databaseUrl);
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const viaProxy = new URL(databaseUrl);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  const server = await startServerProcess({ DATABASE_URL: viaProxy.toString(), ...env });
  return { proxy, server };
}
