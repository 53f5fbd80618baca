import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BUF = join(ROOT, "node_modules/.bin/buf");
// The Python client's code comes from Debian's protoc and its gRPC plugin.
const hasProtoc = existsSync("/usr/bin/protoc") && existsSync("/usr/bin/grpc_python_plugin");

describe("the API contract", () => {
  const scratch: string[] = [];

  afterAll(async () => {
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("should pass buf lint (STANDARD)", async () => {
    const { stdout, stderr } = await run(BUF, ["lint"], { cwd: ROOT });
    expect(stdout + stderr).toBe("");
  });

  it("should match the committed gen/ exactly (run `npm run generate` after a proto change)", async () => {
    await expectGenerated([], "gen");
  });

  it("should give the client the server's wire names", async () => {
    const server = await import("../src/platform/errors/error-reasons.js");
    const client = await import("../clients/typescript/src/wire-names.js");
    expect(client).toEqual(server);
  });

  it.skipIf(!hasProtoc)(
    "should match the Python client's committed tollgate/v1 exactly (npm run generate)",
    async () => {
      // The generated modules only: not the package's own __init__.py, nor bytecode caches.
      await expectGenerated(
        ["--template", "clients/python/buf.gen.yaml"],
        "clients/python/tollgate/v1",
        (path) => /^\w+_pb2(_grpc)?\.pyi?$/.test(path),
      );
    },
  );

  // Runs buf generate (with `args`) into a scratch folder and compares its `dir` with the
  // committed one, file by file; `generated` picks the committed files buf writes.
  async function expectGenerated(
    args: string[],
    dir: string,
    generated: (path: string) => boolean = () => true,
  ): Promise<void> {
    const out = await mkdtemp(join(tmpdir(), "tollgate-gen-"));
    scratch.push(out);
    await run(BUF, ["generate", ...args, "--output", out], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${join(ROOT, "node_modules/.bin")}:${process.env.PATH}` },
    });
    const fresh = await readTree(join(out, dir));
    const committed = Object.fromEntries(
      Object.entries(await readTree(join(ROOT, dir))).filter(([path]) => generated(path)),
    );
    expect(Object.keys(committed).sort()).toEqual(Object.keys(fresh).sort());
    for (const [path, text] of Object.entries(fresh)) {
      expect(committed[path], `${dir}/${path} is stale`).toBe(text);
    }
  }
});

async function readTree(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const entry of entries.filter((e) => e.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = await readFile(path, "utf8");
  }
  return files;
}
