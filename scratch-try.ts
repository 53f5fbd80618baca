import { createDatabase } from "./src/db/database.js";

const db = await createDatabase({
  url: "postgres://postgres@127.0.0.1:5432/admtry",
  dataDir: "",
} as never);
await db.migrate();
const t = "11111111-1111-1111-1111-111111111111";
const p = new Date("2026-11-01T00:00:00Z").toISOString();
const ops = [
  {
    n: 1,
    k: "admit",
    t,
    r: "api_calls",
    p,
    q: "60",
    l: "100",
    a: { allowed: true, entitlement: { planId: "x" } },
  },
  {
    n: 2,
    k: "admit",
    t,
    r: "api_calls",
    p,
    q: "60",
    l: "100",
    ik: "k1",
    op: "cr",
    fp: "f1",
    a: { allowed: true, entitlement: { planId: "x" } },
  },
  {
    n: 3,
    k: "admit",
    t,
    r: "api_calls",
    p,
    q: "40",
    l: "100",
    ik: "k1",
    op: "cr",
    fp: "f1",
    a: { allowed: true, entitlement: { planId: "x" } },
  },
  {
    n: 4,
    k: "hold",
    t,
    r: "seats",
    p,
    q: "2",
    l: "5",
    id: "22222222-2222-2222-2222-222222222222",
    e: new Date(Date.now() + 60000).toISOString(),
    a: { allowed: true, entitlement: {}, reservation: { id: "x" } },
  },
  { n: 5, k: "commit", id: "22222222-2222-2222-2222-222222222222" },
  { n: 6, k: "add", t, r: "api_calls", p, q: "-10", b: 1000 },
];
console.log(
  (
    await db.knex.raw("select * from tollgate_admit(?::jsonb, ?)", [
      JSON.stringify(ops),
      new Date(),
    ])
  ).rows,
);
console.log(
  (
    await db.knex.raw("select * from tollgate_admit(?::jsonb, ?)", [
      JSON.stringify(
        [{ n: 1, k: "commit", id: "22222222-2222-2222-2222-222222222222" }, ops[2]].map((o, i) => ({
          ...o,
          n: i + 1,
        })),
      ),
      new Date(),
    ])
  ).rows,
);
console.log(
  (await db.knex.raw("select * from usage_counters")).rows,
  (await db.knex.raw("select * from entitlement_requests")).rows,
);
await db.close();
