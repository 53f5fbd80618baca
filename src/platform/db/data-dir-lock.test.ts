import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { DataDirBusyError, LOCK_FILE, lockDataDir } from "./data-dir-lock.js";

describe(lockDataDir.name, () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "tollgate-lock-unit-"));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const writeLock = (owner: Record<string, unknown>) =>
    writeFile(join(dir, LOCK_FILE), JSON.stringify(owner));

  it("should refuse while a live process on this host holds it, naming that process", async () => {
    // given the lock names a running process (this machine's init, pid 1)
    await writeLock({ pid: 1, host: hostname(), command: "node main.js", since: "x", token: "t" });

    // then taking it fails with the holder's pid and command
    const error = await lockDataDir(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirBusyError);
    expect((error as Error).message).toContain("pid 1, `node main.js`");
  });

  it("should take over at once from a holder that has died, and leave no stray file", async () => {
    // given the lock names a process that has exited
    const { pid } = spawnSync(process.execPath, ["-e", ""]);
    await writeLock({ pid, host: hostname(), command: "gone", since: "x", token: "old" });

    // when taken, then released
    const lock = await lockDataDir(dir);
    const held = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as { pid: number };
    await lock.release();

    // then this process held it, and nothing is left behind
    expect(held.pid).toBe(process.pid);
    expect(await readdir(dir)).toEqual([]);
  });

  it("should take over an empty file left by a crash between create and write", async () => {
    await writeFile(join(dir, LOCK_FILE), "");
    const lock = await lockDataDir(dir);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("should treat a lock from another host as held, since its process cannot be checked", async () => {
    await writeLock({ pid: 1, host: `${hostname()}-other`, command: "c", since: "s", token: "t" });
    await expect(lockDataDir(dir)).rejects.toBeInstanceOf(DataDirBusyError);
  });

  it("should not remove a lock another process took after ours was taken over", async () => {
    // given our lock was replaced by another holder's
    const lock = await lockDataDir(dir);
    await writeLock({ pid: 1, host: hostname(), command: "c", since: "s", token: "theirs" });

    // when we release
    await lock.release();

    // then their lock stays
    expect(await readFile(join(dir, LOCK_FILE), "utf8")).toContain("theirs");
  });
});
