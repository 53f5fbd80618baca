// `npm start` runs this first: it builds only when a source is newer than the oldest build output,
// as make would, so a second start serves in a second or two instead of rebuilding for 20 s.
// A build that failed half way leaves an output older than the sources, and the next start
// builds again.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

// The repository; its test points BUILD_ROOT at a scratch tree instead.
const root = process.env.BUILD_ROOT ?? new URL("..", import.meta.url).pathname;

/** What `npm run build` reads. */
const SOURCES = [
  "src",
  "gen",
  "console",
  "clients/typescript/src",
  "clients/typescript/package.json",
  "clients/typescript/tsconfig.json",
  "proto",
  "package.json",
  "package-lock.json",
  "tsconfig.json",
];

/** One file of each step of `npm run build`: the client, the server and the console. */
const OUTPUTS = [
  "clients/typescript/dist/index.js",
  "dist/src/main.js",
  "dist/src/app/cli.js",
  "dist/src/entitlements/sql/admit.sql",
  "dist/console/index.html",
];

/** The newest modification time under a path; generated client code is an output, not a source. */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = 0;
  for (const entry of readdirSync(path)) {
    if (entry === "node_modules" || (path.endsWith("clients/typescript/src") && entry === "gen")) {
      continue;
    }
    latest = Math.max(latest, newest(join(path, entry)));
  }
  return latest;
}

const sourceTime = Math.max(...SOURCES.map((path) => newest(join(root, path))));
const outputTime = Math.min(
  ...OUTPUTS.map((path) => statSync(join(root, path), { throwIfNoEntry: false })?.mtimeMs ?? 0),
);

if (outputTime >= sourceTime) {
  process.stdout.write("build: up to date (dist/ is newer than every source)\n");
} else {
  const built = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  process.exit(built.status ?? 1);
}
