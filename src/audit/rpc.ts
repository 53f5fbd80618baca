import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type AuditEvent as AuditEventMessage,
  AuditEventSchema,
  BillingService as BillingServiceDesc,
} from "../../gen/tollgate/v1/billing_service_pb.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import type { AuditEvent } from "./audit.js";
import type { AuditService } from "./service.js";

/**
 * The handler of the audit trail, which the proto puts in `tollgate.v1.BillingService`:
 * proto ↔ domain mapping and nothing else.
 */
export function createAuditRpc(audit: AuditService): ServiceHandlers {
  return handlersOf(BillingServiceDesc, {
    async listAuditEvents(req) {
      const page = await audit.list(req.tenantId, req.pageSize, req.pageToken);
      return { auditEvents: page.items.map(toProtoAuditEvent), nextPageToken: page.nextPageToken };
    },
  });
}

function toProtoAuditEvent(event: AuditEvent): AuditEventMessage {
  return create(AuditEventSchema, {
    id: event.id,
    actor: event.actor,
    action: event.action,
    tenantId: event.tenantId ?? "",
    target: event.target,
    requestId: event.requestId,
    createTime: timestampFromDate(event.createTime),
    before: event.before as JsonObject | undefined,
    after: event.after as JsonObject | undefined,
  });
}
