import { randomUUID } from "node:crypto";
import { link, open, readFile, rename, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/** The file, inside PGlite's data directory, that names the process holding it. */
export const LOCK_FILE = "tollgate.lock";

/** What a lock file holds: enough to tell a live holder from a crashed one, and to name it. */
interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
  /** Unique per acquisition, so a takeover can tell the stale file it judged from a new one. */
  token: string;
}

/** A data directory held by this process until {@link DataDirLock.release}. */
export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Another live process holds the data directory. PGlite is PostgreSQL in one process with no
 * shared memory between processes: two processes on one directory each keep their own cache
 * and overwrite each other's pages, so writes are silently lost. Refusing is the only safe answer.
 */
export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: { pid: number; command: string; since: string },
  ) {
    super(
      `the data directory ${dataDir} is in use by another Tollgate process (pid ${owner.pid}, ` +
        `\`${owner.command}\`, since ${owner.since}). Embedded PGlite serves one process at a ` +
        "time, and a change made beside it would be lost: stop that process (Ctrl-C on " +
        "`npm start`) and run this again, or point DATABASE_URL (for the CLI also --url) at a " +
        `PostgreSQL database. If no such process runs, delete ${join(dataDir, LOCK_FILE)}.`,
    );
    this.name = "DataDirBusyError";
  }
}

/**
 * Takes the data directory for this process, or throws {@link DataDirBusyError}. The lock is a
 * file created exclusively (`O_EXCL`) that names its holder; a file whose holder no longer runs
 * on this host (a crash, SIGKILL) is stale and taken over at once. A holder's liveness is its
 * pid, not a heartbeat: PGlite runs PostgreSQL's WASM on the main thread, and a heartbeat
 * missed during a long statement would let a second process in.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  const mine: LockOwner = {
    pid: process.pid,
    host: hostname(),
    command: process.argv.slice(1).join(" ").slice(0, 200),
    since: new Date().toISOString(),
    token: randomUUID(),
  };
  // Each pass either creates the file, refuses, or removes one stale file; a few passes cover
  // processes racing to take over the same stale file.
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createExclusive(path, mine)) {
      return { release: () => releaseIfMine(path, mine.token) };
    }
    const holder = await readOwner(path);
    if (holder === "missing") continue;
    if (holder !== "unreadable" && isAlive(holder)) throw new DataDirBusyError(dataDir, holder);
    await takeOverStale(path, holder === "unreadable" ? undefined : holder.token);
  }
  throw new Error(`could not lock ${dataDir}: its lock file kept changing`);
}

// The file appears whole or not at all: written under a name of its own, then hard-linked to
// the lock's name, which fails if that exists. Created empty and written after, it could be
// read empty by a racing process, judged left by a crash, and taken over while held.
async function createExclusive(path: string, owner: LockOwner): Promise<boolean> {
  const draft = `${path}.${process.pid}.${owner.token}.new`;
  const file = await open(draft, "wx");
  try {
    await file.writeFile(`${JSON.stringify(owner)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await link(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(draft);
  }
}

async function readOwner(path: string): Promise<LockOwner | "missing" | "unreadable"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw error;
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (typeof owner.pid === "number" && typeof owner.token === "string") {
      return owner as LockOwner;
    }
  } catch {
    // Not written by this code (a lock file is linked whole), or damaged: nobody holds it.
  }
  return "unreadable";
}

/**
 * A holder is alive when it runs on this host under a pid that exists and is not ours (a
 * container restarted on the same volume gets the same pid, and we hold nothing yet). A file
 * from another host cannot be checked and is treated as held.
 */
function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Moves the stale file aside and removes it only if it is still the one judged stale: when
 * another process took over first and wrote its own lock, that lock is put back.
 */
async function takeOverStale(path: string, staleToken: string | undefined): Promise<void> {
  const aside = `${path}.${process.pid}.${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const moved = await readOwner(aside);
  const sameStaleFile =
    moved === "unreadable"
      ? staleToken === undefined
      : moved !== "missing" && moved.token === staleToken;
  if (!sameStaleFile) {
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside);
}

async function releaseIfMine(path: string, token: string): Promise<void> {
  const holder = await readOwner(path);
  if (typeof holder === "object" && holder.token === token) await unlink(path);
}
