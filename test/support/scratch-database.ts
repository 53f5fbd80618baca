import { randomBytes } from "node:crypto";
import pg from "pg";

/** A database of its own for one test file or benchmark run, dropped by `drop()`. */
export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

/**
 * Creates an empty database named `<prefix>_<random>` on the server of `adminUrl`. With
 * `TEST_CITUS_WORKERS` (`host:port,host:port`), that server is a Citus coordinator: the
 * database is made on every worker too, with the `citus` extension and the nodes registered,
 * so whatever runs on it migrates into a distributed deployment (docs/scaling.md).
 */
export async function createScratchDatabase(
  adminUrl: string,
  prefix: string,
): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(6).toString("hex")}`;
  const workers = citusWorkers(adminUrl);
  for (const server of [adminUrl, ...workers]) {
    await withClient(server, async (client) => {
      await client.query(`create database ${name}`);
    });
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  if (workers.length > 0) await makeCoordinator(url, workers);
  return {
    url: url.toString(),
    drop: async () => {
      for (const server of [adminUrl, ...workers]) {
        await withClient(server, async (client) => {
          await client.query(`drop database if exists ${name} with (force)`);
        });
      }
    },
  };
}

/** The admin URLs of the Citus workers named by `TEST_CITUS_WORKERS`, if any. */
function citusWorkers(adminUrl: string): string[] {
  const list = process.env.TEST_CITUS_WORKERS ?? "";
  return list
    .split(",")
    .filter(Boolean)
    .map((hostPort) => {
      const url = new URL(adminUrl);
      url.host = hostPort;
      return url.toString();
    });
}

// A few shards per table keep a test database quick to create; the routing is the same.
async function makeCoordinator(url: URL, workers: string[]): Promise<void> {
  for (const worker of workers) {
    const own = new URL(worker);
    own.pathname = url.pathname;
    await withClient(own.toString(), (client) => client.query("create extension citus"));
  }
  await withClient(url.toString(), async (client) => {
    await client.query("create extension citus");
    await client.query(`alter database ${url.pathname.slice(1)} set citus.shard_count = 4`);
    await client.query("select citus_set_coordinator_host($1, $2)", [
      url.hostname,
      Number(url.port || 5432),
    ]);
    for (const worker of workers) {
      const { hostname, port } = new URL(worker);
      await client.query("select citus_add_node($1, $2)", [hostname, Number(port || 5432)]);
    }
  });
}

/** Runs `work` on a connection of its own to `url`, closed afterwards. */
export async function withClient<T>(
  url: string,
  work: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
