// `npx tollgate` runs the package's bin, dist/src/app/cli.js, as a program of its own, and tsc
// writes it without the executable bit: without this, a fresh clone's first `npx tollgate`
// (the README's `keys create`, `catalog push`) is refused with "Permission denied".
import { chmodSync } from "node:fs";

chmodSync(new URL("../dist/src/app/cli.js", import.meta.url), 0o755);
