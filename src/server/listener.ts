import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

/** A request handler that serves both HTTP/1.1 and HTTP/2 compatibility requests. */
export type DualRequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** Options of {@link createListener}. */
export interface ListenerOptions {
  handler: DualRequestHandler;
  /** Bound on HTTP/2 header lists and HTTP/1.1 headers, in bytes. */
  maxHeaderBytes?: number;
}

/** One TCP port that speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c). */
export interface Listener {
  listen(port: number, host: string): Promise<net.AddressInfo>;
  /**
   * Stops accepting, sends GOAWAY, lets open requests end within `graceMs`, then calls
   * `onGraceExpired` (to abort handlers) and closes what is left.
   */
  close(graceMs: number, onGraceExpired?: () => void): Promise<void>;
  /** Requests that started and have not finished yet. */
  inFlight(): number;
}

// Every HTTP/2 connection opens with this preface; no HTTP/1.x request line starts with "PRI ".
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * Creates the single-port listener. Plain `http2.createServer` refuses HTTP/1.1 and
 * `allowHTTP1` needs TLS, so the first bytes of each connection are sniffed: the HTTP/2
 * preface goes to an h2c server, anything else to an HTTP/1.1 server, both sharing one
 * handler. This lets gRPC (HTTP/2), Connect and gRPC-Web (either) and browsers share a port.
 */
export function createListener(options: ListenerOptions): Listener {
  let active = 0;
  const track: DualRequestHandler = (req, res) => {
    active++;
    res.once("close", () => active--);
    options.handler(req, res);
  };
  const h1 = http.createServer({ maxHeaderSize: options.maxHeaderBytes }, track);
  h1.keepAliveTimeout = 65_000;
  const h2 = http2.createServer({ maxHeaderListPairs: 256 }, track);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    routeConnection(socket, h1, h2);
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          resolve(tcp.address() as net.AddressInfo);
        });
      });
    },
    async close(graceMs, onGraceExpired) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (active > 0 && Date.now() < deadline) {
        h1.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 20));
      }
      if (active > 0) onGraceExpired?.();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    inFlight: () => active,
  };
}

function routeConnection(socket: net.Socket, h1: http.Server, h2: http2.Http2Server): void {
  let head = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const n = Math.min(head.length, H2_PREFACE.length);
    const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && head.length < H2_PREFACE.length) return; // wait for the full preface
    socket.off("data", onData);
    socket.pause();
    socket.unshift(head);
    (isH2 ? h2 : h1).emit("connection", socket);
    process.nextTick(() => socket.resume());
  };
  socket.on("data", onData);
  socket.once("error", () => socket.destroy());
}
