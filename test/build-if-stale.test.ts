import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const SCRIPT = fileURLToPath(new URL("../scripts/build-if-stale.mjs", import.meta.url));
const OUTPUTS = [
  "clients/typescript/dist/index.js",
  "dist/src/main.js",
  "dist/src/app/cli.js",
  "dist/src/entitlements/sql/admit.sql",
  "dist/console/index.html",
];

/**
 * `npm start` builds only when a source is newer than the build. Checked on a scratch tree
 * whose "build" writes the five outputs and counts its runs, so the repository's own dist/,
 * which other tests are using, is never rebuilt here.
 */
describe("scripts/build-if-stale.mjs", () => {
  let root: string;
  const start = () =>
    run(process.execPath, [SCRIPT], { env: { ...process.env, BUILD_ROOT: root } });
  const builds = async () => (await readFile(join(root, "builds"), "utf8").catch(() => "")).length;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "tollgate-stale-"));
    const build = `const fs=require("fs");fs.appendFileSync("builds","x");for(const f of ${JSON.stringify(OUTPUTS)}){fs.mkdirSync(require("path").dirname(f),{recursive:true});fs.writeFileSync(f,"")}`;
    await writeFile(
      join(root, "package.json"),
      JSON.stringify({ name: "scratch", private: true, scripts: { build: `node -e '${build}'` } }),
    );
    await mkdir(join(root, "src"));
    await writeFile(join(root, "src/main.ts"), "export {};\n");
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("should build when outputs are missing, skip when current, and build after a source changes", async () => {
    // given no build yet: it builds
    await start();
    expect(await builds()).toBe(1);

    // when nothing changed: it says so and does not build
    const { stdout } = await start();
    expect(stdout).toContain("up to date");
    expect(await builds()).toBe(1);

    // when a source is newer than the oldest output: it builds again
    const later = new Date(Date.now() + 60_000);
    await utimes(join(root, "src/main.ts"), later, later);
    await start();
    expect(await builds()).toBe(2);
  });
});
