import type { JsonObject } from "@bufbuild/protobuf";
import type { Event } from "../../../gen/tollgate/v1/event_service_pb.js";
import { formatQuantity } from "../format.js";

function field(data: JsonObject | undefined, name: string): string {
  const value = data?.[name];
  return typeof value === "string" || typeof value === "number" ? String(value) : "";
}

/**
 * An event's data as one sentence a support engineer can read out: for a denial, the
 * arithmetic the server refused; for an alert, the threshold and usage. Figures are the
 * server's, written out, not recomputed.
 */
export function describeEvent(event: Event): string {
  const data = event.data as JsonObject | undefined;
  const q = (name: string) => formatQuantity(field(data, name));
  const resource = field(data, "resource_type");
  switch (event.type) {
    case "entitlement.denied":
      return `Denied ${q("quantity")} ${resource}: ${q("used")} used + ${q("reserved")} reserved + ${q("quantity")} requested is over the limit of ${q("limit")} (plan ${field(data, "plan_id")}). Later denials this period are not repeated.`;
    case "entitlement.threshold_crossed":
      return `${resource} reached ${Number(field(data, "threshold")) * 100}% of its limit: ${q("used")} of ${q("limit")} (${q("included")} included, ${q("granted")} granted, plan ${field(data, "plan_id")}).`;
    case "entitlement.threshold_resolved":
      return `A correction brought ${resource} back below ${Number(field(data, "threshold")) * 100}% of its limit: ${q("used")} of ${q("limit")}. Crossing it again is announced again.`;
    case "usage.corrected": {
      const added = field(data, "accepted_count");
      return `${field(data, "kind") === "replace" ? "Replaced" : "Voided"} ${field(data, "voided_count")} usage item(s)${added && added !== "0" ? `, ${added} added` : ""} by ${field(data, "actor")}: ${field(data, "reason")}.`;
    }
    default: {
      const plan = field(data, "plan_id");
      const state = field(data, "state");
      return [plan && `plan ${plan}`, state && `state ${state}`, field(data, "id")]
        .filter((part) => part !== "")
        .join(", ");
    }
  }
}
