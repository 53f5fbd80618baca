import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  BillingService as BillingServiceDesc,
  type PriceOverride as PriceOverrideMessage,
  PriceOverrideSchema,
} from "../../gen/tollgate/v1/billing_service_pb.js";
import {
  type Pricing as PricingMessage,
  PricingModel as ProtoPricingModel,
} from "../../gen/tollgate/v1/resource_pb.js";
import { PRICING_MODEL_TO_PROTO, toProtoPricing } from "../billing/pricing-wire.js";
import { parseCounterName } from "../catalog/meters.js";
import type { RawPricing } from "../catalog/pricing-rules.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import { fromProtoTimestamp } from "../platform/server/timestamp.js";
import type { PriceOverride } from "./prices.js";
import type { PriceService } from "./service.js";

/**
 * The handlers of negotiated prices, which the proto puts in `tollgate.v1.BillingService`:
 * proto ↔ domain mapping and nothing else.
 */
export function createPriceRpc(prices: PriceService): ServiceHandlers {
  return handlersOf(BillingServiceDesc, {
    async setPriceOverride(req, ctx) {
      const override = await prices.setOverride(actorOf(ctx), {
        tenantId: req.tenantId,
        resourceType: req.resourceType,
        dimensions: req.dimensions,
        pricing: req.pricing && rawPricingOf(req.pricing),
        startTime: fromProtoTimestamp(req.startTime),
        endTime: fromProtoTimestamp(req.endTime),
        requestId: req.requestId,
      });
      return { priceOverride: toProtoPriceOverride(override) };
    },
    async deletePriceOverride(req, ctx) {
      return {
        priceOverride: toProtoPriceOverride(await prices.deleteOverride(actorOf(ctx), req)),
      };
    },
    async listPriceOverrides(req) {
      const overrides = await prices.listOverrides(req.tenantId, req.includeEnded);
      return { priceOverrides: overrides.map(toProtoPriceOverride) };
    },
  });
}

function toProtoPriceOverride(override: PriceOverride): PriceOverrideMessage {
  return create(PriceOverrideSchema, {
    id: override.id,
    tenantId: override.tenantId,
    ...parseCounterName(override.counter),
    pricing: toProtoPricing(override.pricing),
    startTime: timestampFromDate(override.startTime),
    endTime: override.endTime && timestampFromDate(override.endTime),
    createTime: timestampFromDate(override.createTime),
    deleteTime: override.deleteTime && timestampFromDate(override.deleteTime),
    providerPriceId: override.providerPriceId ?? "",
  });
}

/**
 * A price from the wire in the catalog's raw form, for the pricing rules to check: empty
 * strings are absent fields, and an unknown model keeps a name the rules reject.
 */
function rawPricingOf(message: PricingMessage): RawPricing {
  const model =
    Object.entries(PRICING_MODEL_TO_PROTO).find(([, proto]) => proto === message.model)?.[0] ??
    (message.model === ProtoPricingModel.UNSPECIFIED ? "" : `unknown(${message.model})`);
  const text = (value: string) => (value === "" ? undefined : value);
  return {
    model,
    unit_amount: text(message.unitAmount),
    tiers:
      message.tiers.length === 0
        ? undefined
        : message.tiers.map((t) => ({
            up_to: text(t.upTo) ?? null,
            unit_amount: text(t.unitAmount),
            flat_amount: text(t.flatAmount),
          })),
    tiers_from: text(message.tiersFrom),
    package_size: text(message.packageSize),
    package_amount: text(message.packageAmount),
    round: text(message.round),
  };
}
