#!/usr/bin/env node
// The npm registry this project is developed against lacks some platform builds of
// @biomejs/biome and @bufbuild/buf (android, darwin, windows), so `npm install` leaves them
// out of package-lock.json and `npm ci` then refuses the lock as out of sync. This adds the
// missing optional platform entries (os/cpu only, nothing to download on other platforms),
// restoring the lock the public registry would have produced. Run after `npm install`.
import { readFileSync, writeFileSync } from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(readFileSync(path, "utf8"));
let added = 0;
for (const [where, pkg] of Object.entries(lock.packages)) {
  for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (lock.packages[key]) continue;
    const match = /-(android|darwin|linux|win32|freebsd)-(arm64|x64|armv7|arm|ia32)(-musl)?$/.exec(
      name,
    );
    if (!match) throw new Error(`${where} wants ${name}, which is not a platform package`);
    lock.packages[key] = {
      version,
      cpu: [match[2] === "armv7" ? "arm" : match[2]],
      ...(pkg.dev ? { dev: true } : {}),
      license: pkg.license,
      optional: true,
      os: [match[1]],
      ...(match[3] ? { libc: ["musl"] } : {}),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a < b ? -1 : 1)),
);
writeFileSync(path, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
