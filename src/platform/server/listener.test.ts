import http2 from "node:http2";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createListener, type Listener } from "./listener.js";

describe(createListener.name, () => {
  let listener: Listener;
  let port: number;

  beforeAll(async () => {
    listener = createListener({
      limits: {
        headersTimeoutMs: 10_000,
        requestTimeoutMs: 10_000,
        idleTimeoutMs: 10_000,
        keepaliveIntervalMs: 10_000,
        keepaliveTimeoutMs: 10_000,
        maxConnections: 100,
        maxConcurrentStreams: 100,
      },
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end(`${req.httpVersion} ${req.method} ${req.url}`);
      },
    });
    ({ port } = await listener.listen(0, "127.0.0.1"));
  });

  afterAll(async () => {
    await listener.close(1_000);
  });

  it("should serve HTTP/1.1 even when the request arrives one byte at a time", async () => {
    // "P" could begin the HTTP/2 preface, so the sniffer must wait for the next byte.
    const reply = await rawExchange(
      port,
      "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(reply).toContain("1.1 POST /one");
  });

  it("should serve HTTP/2 with prior knowledge on the same port", async () => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const body = await new Promise<string>((resolve, reject) => {
      const stream = session.request({ ":path": "/two" });
      let text = "";
      stream.on("data", (chunk: Buffer) => {
        text += chunk.toString();
      });
      stream.on("end", () => resolve(text));
      stream.on("error", reject);
    });
    session.close();
    expect(body).toBe("2.0 GET /two");
  });

  it("should serve fetch (HTTP/1.1 with keep-alive) on the same port", async () => {
    const res = await fetch(`http://127.0.0.1:${port}/three`, { method: "POST", body: "x" });
    expect(await res.text()).toBe("1.1 POST /three");
  });
});

/** Writes a request one byte per TCP segment and returns everything the server answered. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let reply = "";
    socket.on("data", (chunk) => {
      reply += chunk.toString();
    });
    socket.on("end", () => resolve(reply));
    socket.on("error", reject);
    socket.on("connect", async () => {
      for (const byte of request) {
        socket.write(byte);
        await new Promise((r) => setTimeout(r, 1));
      }
    });
  });
}
