import type http2 from "node:http2";

/** Timeouts of {@link watchHttp2Session}. */
export interface Http2SessionTimeouts {
  /** A session without open streams for this long is closed with GOAWAY. */
  idleTimeoutMs: number;
  /** How often the peer is pinged, so a dead peer under an open stream is noticed. */
  keepaliveIntervalMs: number;
  /** How long a ping may go unanswered before the session is destroyed. */
  keepaliveTimeoutMs: number;
}

/**
 * Keeps one HTTP/2 session honest. Node closes nothing by itself: an idle session, or one
 * whose peer vanished while a client stream was open (a StreamUsage call from a crashed
 * agent), would hold its socket and buffers forever. Idle sessions get a graceful GOAWAY;
 * a peer that stops answering pings is cut off.
 */
export function watchHttp2Session(
  session: http2.ServerHttp2Session,
  timeouts: Http2SessionTimeouts,
): void {
  let open = 0;
  let idle: NodeJS.Timeout | undefined;
  let unanswered: NodeJS.Timeout | undefined;
  const startIdle = () => {
    idle = setTimeout(() => session.close(), timeouts.idleTimeoutMs).unref();
  };
  session.on("stream", (stream) => {
    open++;
    clearTimeout(idle);
    stream.once("close", () => {
      if (--open === 0 && !session.closed) startIdle();
    });
  });
  const pinger = setInterval(() => {
    if (unanswered !== undefined || session.destroyed) return;
    // Armed before the ping: a ping that cannot even be sent ends the session the same way.
    unanswered = setTimeout(() => session.destroy(), timeouts.keepaliveTimeoutMs).unref();
    session.ping((error) => {
      if (error) return;
      clearTimeout(unanswered);
      unanswered = undefined;
    });
  }, timeouts.keepaliveIntervalMs).unref();
  session.once("close", () => {
    clearInterval(pinger);
    clearTimeout(idle);
    clearTimeout(unanswered);
  });
  startIdle();
}
