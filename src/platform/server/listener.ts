import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { capCallTimeout } from "./call-timeout.js";
import { type Http2SessionTimeouts, watchHttp2Session } from "./http2-session-watch.js";

/** A request handler that serves both HTTP/1.1 and HTTP/2 compatibility requests. */
export type DualRequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** How long connections may take and how many there may be. */
export interface ConnectionLimits extends Http2SessionTimeouts {
  /**
   * A new connection must have sent its first request's headers (HTTP/1.1) or the HTTP/2
   * preface within this time, or it is closed.
   */
  headersTimeoutMs: number;
  /**
   * A request whose headers arrived must have sent its whole body within this time, or its
   * connection (HTTP/1.1) or stream (HTTP/2) is closed. Streams of `openBodyPaths` are exempt:
   * their bodies are streams of messages meant to stay open.
   */
  requestTimeoutMs: number;
  /** Most open TCP connections; further ones are closed as they arrive. */
  maxConnections: number;
  /** Most concurrent streams (calls) per HTTP/2 connection, announced in SETTINGS. */
  maxConcurrentStreams: number;
}

/** Takes some HTTP/2 streams before the request handler sees them. */
export interface Http2StreamRoute {
  accepts(headers: http2.IncomingHttpHeaders, rawHeaders: string[]): boolean;
  serve(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    flags: number,
    rawHeaders: string[],
  ): void;
}

/** Options of {@link createListener}. */
export interface ListenerOptions {
  handler: DualRequestHandler;
  /** Serves the HTTP/2 streams it accepts itself; every other request goes to `handler`. */
  streams?: Http2StreamRoute;
  /**
   * Checks every request's headers before anything serves it; a reason refuses it with 403.
   * Set while the server runs open, to answer only loopback names.
   */
  refuse?: (headers: http.IncomingHttpHeaders) => string | undefined;
  /** Paths of client- and bidi-streaming procedures, whose request bodies stay open. */
  openBodyPaths?: ReadonlySet<string>;
  /** Bound on HTTP/2 header lists and HTTP/1.1 headers, in bytes. */
  maxHeaderBytes?: number;
  limits: ConnectionLimits;
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
 * HTTP/2 streams are routed one by one, so a single connection may mix protocols.
 * No connection may linger: one that sends nothing, or half a request, is closed after the
 * header timeout; idle ones after the idle timeout; HTTP/2 peers that stop answering pings
 * after the keepalive timeout.
 */
export function createListener(options: ListenerOptions): Listener {
  const { limits, streams } = options;
  let active = 0;
  const track = (done: { once(event: "close", listener: () => void): unknown }) => {
    active++;
    done.once("close", () => active--);
  };
  const h1 = http.createServer(
    {
      maxHeaderSize: options.maxHeaderBytes,
      // Node checks header and request timeouts on this tick, so it bounds their precision.
      connectionsCheckingInterval: Math.min(1_000, Math.max(50, limits.headersTimeoutMs / 4)),
    },
    (req, res) => {
      track(res);
      firstRequestArrived(req.socket);
      if (!options.openBodyPaths?.has((req.url ?? "").split("?")[0] ?? "")) {
        boundBody([req, res], () => req.socket.destroy(), limits.requestTimeoutMs);
      }
      const refused = options.refuse?.(req.headers);
      if (refused !== undefined) {
        res.writeHead(403, { "content-type": "text/plain; charset=utf-8" });
        res.end(refused);
        return;
      }
      capCallTimeout(req.headers);
      options.handler(req, res);
    },
  );
  h1.headersTimeout = limits.headersTimeoutMs;
  // Node's own whole-request timeout would also cut client-streaming calls over HTTP/1.1;
  // bodies are bounded per request by `boundBody` instead, which exempts those.
  h1.requestTimeout = 0;
  h1.keepAliveTimeout = limits.idleTimeoutMs;
  // This server is handed sockets and never listens itself, but Node starts tracking
  // connections (which enforces `headersTimeout` and makes `closeIdleConnections` work) on
  // 'listening'; without this, half-sent requests would hold their sockets forever.
  h1.emit("listening");
  const h2 = http2.createServer({
    maxHeaderListPairs: 256,
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams },
  });
  // Never given a connection: it only turns the streams `h2` passes on into requests.
  const compat = http2.createServer({}, options.handler);
  h2.on(
    "stream",
    (
      stream: http2.ServerHttp2Stream,
      headers: http2.IncomingHttpHeaders,
      flags: number,
      rawHeaders: string[],
    ) => {
      track(stream);
      if (!options.openBodyPaths?.has(headers[":path"] ?? "")) {
        const cancel = () => stream.close(http2.constants.NGHTTP2_CANCEL);
        if (!stream.readableEnded) boundBody([stream], cancel, limits.requestTimeoutMs);
      }
      const refused = options.refuse?.(headers);
      if (refused !== undefined) {
        stream.respond({ ":status": 403, "content-type": "text/plain; charset=utf-8" });
        stream.end(refused);
        return;
      }
      capCallTimeout(headers);
      if (streams?.accepts(headers, rawHeaders)) streams.serve(stream, headers, flags, rawHeaders);
      else compat.emit("stream", stream, headers, flags, rawHeaders);
    },
  );
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    watchHttp2Session(session, limits);
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    routeConnection(socket, h1, h2, limits.headersTimeoutMs);
  });
  tcp.maxConnections = limits.maxConnections;

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
      // Stops the connection checks; the "not running" error only says it never listened.
      h1.close(() => undefined);
      await closed;
    },
    inFlight: () => active,
  };
}

// The timer that closes an HTTP/1.1 connection whose first request's headers never complete.
const kFirstHeaders = Symbol("first request headers deadline");

/**
 * Node's own header timeout is enforced by a periodic sweep over its connection list, which
 * was seen to let connections that sent half a request header live for minutes on a busy
 * server. Every connection therefore gets a timer of its own until its first request's
 * headers are complete (the sweep and the idle timeout still cover later requests).
 */
function firstRequestArrived(socket: net.Socket): void {
  const timer = (socket as net.Socket & { [kFirstHeaders]?: NodeJS.Timeout })[kFirstHeaders];
  if (timer !== undefined) clearTimeout(timer);
}

/**
 * Closes a request whose declared body does not finish arriving within `ms` of its headers
 * (or whose response has not ended by then, for a request that is never read):
 * without it, a call whose body never comes holds its handler (and an HTTP/2 stream slot)
 * for as long as the peer keeps the connection alive.
 */
function boundBody(
  parts: { once(event: "end" | "close", listener: () => void): unknown }[],
  close: () => void,
  ms: number,
): void {
  const timer = setTimeout(close, ms).unref();
  const done = () => clearTimeout(timer);
  for (const part of parts) {
    part.once("end", done);
    part.once("close", done);
  }
}

function routeConnection(
  socket: net.Socket,
  h1: http.Server,
  h2: http2.Http2Server,
  headersTimeoutMs: number,
): void {
  let head = Buffer.alloc(0);
  const connected = Date.now();
  // A connection that stays silent, or stops inside the preface, never reaches a server
  // whose own timeouts could close it.
  const silent = setTimeout(() => socket.destroy(), headersTimeoutMs).unref();
  const onData = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const n = Math.min(head.length, H2_PREFACE.length);
    const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2 && head.length < H2_PREFACE.length) return; // wait for the full preface
    clearTimeout(silent);
    if (!isH2) {
      const left = Math.max(1, headersTimeoutMs - (Date.now() - connected));
      const deadline = setTimeout(() => socket.destroy(), left).unref();
      (socket as net.Socket & { [kFirstHeaders]?: NodeJS.Timeout })[kFirstHeaders] = deadline;
      socket.once("close", () => clearTimeout(deadline));
    }
    socket.off("data", onData);
    socket.pause();
    socket.unshift(head);
    (isH2 ? h2 : h1).emit("connection", socket);
    process.nextTick(() => socket.resume());
  };
  socket.on("data", onData);
  socket.once("close", () => clearTimeout(silent));
  socket.once("error", () => socket.destroy());
}
