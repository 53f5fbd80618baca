import type { Knex } from "knex";
import type { Module } from "../platform/server/module.js";
import { createAuditRpc } from "./rpc.js";
import { createAuditService } from "./service.js";
import { type AuditStore, createAuditStore } from "./store.js";

/** The audit trail: written inside other domains' transactions, read by operators. */
export interface AuditModule extends Module {
  /** For the domains that record their mutations. */
  store: AuditStore;
}

/** Creates the audit domain over the main pool. */
export function createAuditModule(deps: { knex: Knex }): AuditModule {
  const store = createAuditStore(deps.knex);
  return { name: "audit", store, rpc: [createAuditRpc(createAuditService(store))] };
}
