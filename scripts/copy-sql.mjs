// Copies the SQL function files (src/**/sql/*.sql) beside the compiled modules in dist/src,
// where the function set (src/app/database-functions.ts) names them relative to itself.
import { cpSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
cpSync(`${root}src`, `${root}dist/src`, {
  recursive: true,
  filter: (path) => statSync(path).isDirectory() || path.endsWith(".sql"),
});
