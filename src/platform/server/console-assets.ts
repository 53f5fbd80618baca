import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { DualRequestHandler } from "./listener.js";

type Request = Parameters<DualRequestHandler>[0];
type Response = Parameters<DualRequestHandler>[1];

/** The operator console's built files, served under `/console` from memory. */
export interface ConsoleAssets {
  /** Answers a request for `path` under `/console`; false when the path is not the console's. */
  serve(path: string, req: Request, res: Response): boolean;
}

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  immutable: boolean;
}

/** The URL prefix; Vite builds with the same `base`. */
export const CONSOLE_PATH = "/console";

// The console runs only its own bundled script and stylesheet and talks only to this origin.
// uPlot and Preact set styles through the CSSOM, which `style-src 'self'` does not block.
const CONSOLE_HEADERS = {
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; " +
    "frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};
const COMPRESSIBLE = new Set([".html", ".js", ".css", ".svg", ".json"]);

/**
 * Loads the console from `dist/console` (written by `npm run build`) into memory, compressed
 * once, so serving it costs the server nothing but a write. Files under `assets/` carry a
 * content hash in their names and are cached for a year; `index.html` is revalidated by ETag
 * on every load, so a deploy is picked up at once. Without a build the console answers 503
 * with how to build it, and every other endpoint works as before.
 */
export function loadConsoleAssets(directory = defaultDirectory()): ConsoleAssets {
  const assets = existsSync(join(directory, "index.html")) ? readAssets(directory) : undefined;
  return {
    serve(path, req, res) {
      if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
        res.end("the console is read with GET\n");
        return true;
      }
      if (assets === undefined) {
        res.writeHead(503, { "content-type": "text/plain; charset=utf-8" });
        res.end(
          "The console is not built. Run `npm run build` (npm start does it), then reload.\n",
        );
        return true;
      }
      const name = path.slice(CONSOLE_PATH.length + 1);
      // Unknown files under assets/ are missing; any other path is a page of the app.
      const asset = assets.get(name) ?? (name.startsWith("assets/") ? undefined : assets.get(""));
      if (asset === undefined) {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found\n");
        return true;
      }
      writeAsset(req, res, asset);
      return true;
    },
  };
}

function writeAsset(req: Request, res: Response, asset: Asset): void {
  const headers: Record<string, string> = {
    ...CONSOLE_HEADERS,
    "content-type": asset.type,
    etag: asset.etag,
    vary: "accept-encoding",
    "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
  };
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  const accepts = String(req.headers["accept-encoding"] ?? "");
  const body = asset.gzip && /\bgzip\b/.test(accepts) ? asset.gzip : asset.body;
  if (body === asset.gzip) headers["content-encoding"] = "gzip";
  headers["content-length"] = String(body.length);
  res.writeHead(200, headers);
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

// Keys are paths relative to the build ("index.html", "assets/index-1a2b3c.js"); "" is the page.
function readAssets(directory: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of listFiles(directory)) {
    const name = relative(directory, file).split(sep).join("/");
    const body = readFileSync(file);
    const extension = extname(file);
    const asset: Asset = {
      body,
      gzip: COMPRESSIBLE.has(extension) ? gzipSync(body, { level: 9 }) : undefined,
      type: TYPES[extension] ?? "application/octet-stream",
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      immutable: name.startsWith("assets/"),
    };
    assets.set(name, asset);
    if (name === "index.html") assets.set("", asset);
  }
  return assets;
}

function listFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((entry) => {
    const path = join(directory, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

// `dist/console` of the package this file belongs to, whether it runs compiled from
// `dist/src/server` or as TypeScript from `src/server` (tests).
function defaultDirectory(): string {
  let directory = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(directory, "package.json")) && dirname(directory) !== directory) {
    directory = dirname(directory);
  }
  return join(directory, "dist", "console");
}
