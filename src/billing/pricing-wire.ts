import { create } from "@bufbuild/protobuf";
import {
  type Pricing as PricingMessage,
  PricingSchema,
  PricingModel as ProtoPricingModel,
} from "../../gen/tollgate/v1/resource_pb.js";
import type { Pricing, PricingModel } from "../catalog/pricing.js";

/** The wire's pricing models, shared by plans, invoices and entitlements. */
export const PRICING_MODEL_TO_PROTO: Record<PricingModel, ProtoPricingModel> = {
  per_unit: ProtoPricingModel.PER_UNIT,
  graduated: ProtoPricingModel.GRADUATED,
  volume: ProtoPricingModel.VOLUME,
  package: ProtoPricingModel.PACKAGE,
};

// Messages already made, by price: a plan's price (or a negotiated one) is one object for
// every answer that shows it, and admissions answer with it on every call.
const MADE = new WeakMap<Pricing, PricingMessage>();

/**
 * A price as the wire carries it (the catalog's `pricing` object, field for field). The same
 * price gives the same message, shared: it is serialized, never changed.
 */
export function toProtoPricing(pricing: Pricing): PricingMessage {
  let message = MADE.get(pricing);
  if (message === undefined) {
    message = makePricing(pricing);
    MADE.set(pricing, message);
  }
  return message;
}

function makePricing(pricing: Pricing): PricingMessage {
  switch (pricing.model) {
    case "per_unit":
      return create(PricingSchema, {
        model: ProtoPricingModel.PER_UNIT,
        unitAmount: pricing.unitAmount.toFixed(),
      });
    case "package":
      return create(PricingSchema, {
        model: ProtoPricingModel.PACKAGE,
        packageSize: pricing.packageSize.toFixed(),
        packageAmount: pricing.packageAmount.toFixed(),
        round: pricing.round,
      });
    default:
      return create(PricingSchema, {
        model: PRICING_MODEL_TO_PROTO[pricing.model],
        tiersFrom: pricing.tiersFrom,
        tiers: pricing.tiers.map((t) => ({
          upTo: t.upTo?.toFixed() ?? "",
          unitAmount: t.unitAmount.toFixed(),
          flatAmount: t.flatAmount.toFixed(),
        })),
      });
  }
}
