import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Decimal } from "decimal.js";
import {
  BillingInterval,
  BillingService as BillingServiceDesc,
  type Customer as CustomerMessage,
  CustomerSchema,
  InvoiceLineKind,
  type Invoice as InvoiceMessage,
  InvoiceSchema,
  type PlanLimit as PlanLimitMessage,
  PlanLimitSchema,
  type Plan as PlanMessage,
  PlanSchema,
  ProrationBehavior as ProtoProration,
  SubscriptionState as ProtoState,
  type Subscription as SubscriptionMessage,
  SubscriptionSchema,
} from "../../gen/tollgate/v1/billing_service_pb.js";
import { ResourceKind } from "../../gen/tollgate/v1/resource_pb.js";
import type { Plan, PlanLimit } from "../catalog/catalog.js";
import type { SubscriptionState } from "../catalog/lifecycle.js";
import { minorUnitDigits } from "../catalog/money.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import type { Customer, ProrationBehavior, Subscription } from "./billing.js";
import type { CustomerDirectory } from "./directory.js";
import type { Invoice, InvoiceLineKind as LineKind } from "./invoice.js";
import { PRICING_MODEL_TO_PROTO, toProtoPricing } from "./pricing-wire.js";
import type { BillingService } from "./service.js";

const STATE_TO_PROTO: Record<SubscriptionState, ProtoState> = {
  trialing: ProtoState.TRIALING,
  active: ProtoState.ACTIVE,
  past_due: ProtoState.PAST_DUE,
  canceled: ProtoState.CANCELED,
  incomplete: ProtoState.INCOMPLETE,
};

const LINE_KIND_TO_PROTO: Record<LineKind, InvoiceLineKind> = {
  plan_fee: InvoiceLineKind.PLAN_FEE,
  usage: InvoiceLineKind.USAGE,
  minimum_true_up: InvoiceLineKind.MINIMUM_TRUE_UP,
};

const PRORATION_TO_PROTO: Record<ProrationBehavior, ProtoProration> = {
  create_prorations: ProtoProration.CREATE_PRORATIONS,
  none: ProtoProration.NONE,
  always_invoice: ProtoProration.ALWAYS_INVOICE,
};

/**
 * The Connect handler of `tollgate.v1.BillingService`: proto ↔ domain mapping and nothing
 * else. Validation, rules and errors live in the service.
 */
export function createBillingRpc(
  service: BillingService,
  directory: CustomerDirectory,
): ServiceHandlers {
  return handlersOf(BillingServiceDesc, {
    async createCustomer(req, ctx) {
      const customer = await service.createCustomer(actorOf(ctx), {
        tenantId: req.tenantId,
        email: req.email,
        name: req.name,
        metadata: req.metadata,
        requestId: req.requestId,
      });
      return { customer: toProtoCustomer(customer) };
    },
    async getCustomer(req) {
      return { customer: toProtoCustomer(await service.getCustomer(req.tenantId)) };
    },
    listPlans() {
      return { plans: service.listPlans().map(toProtoPlan) };
    },
    async createSubscription(req, ctx) {
      const subscription = await service.createSubscription(actorOf(ctx), {
        customerId: req.customerId,
        priceId: req.priceId,
        trialDays: req.trialDays,
        requestId: req.requestId,
      });
      return { subscription: toProtoSubscription(subscription) };
    },
    async updateSubscription(req, ctx) {
      const subscription = await service.updateSubscription(actorOf(ctx), {
        subscriptionId: req.subscriptionId,
        newPriceId: req.newPriceId,
        prorationBehavior: fromProtoProration(req.prorationBehavior),
        requestId: req.requestId,
      });
      return { subscription: toProtoSubscription(subscription) };
    },
    async cancelSubscription(req, ctx) {
      const subscription = await service.cancelSubscription(actorOf(ctx), {
        subscriptionId: req.subscriptionId,
        immediate: req.immediate,
        requestId: req.requestId,
      });
      return { subscription: toProtoSubscription(subscription) };
    },
    async getSubscription(req, ctx) {
      const subscription = await service.getSubscription(actorOf(ctx), req.subscriptionId);
      return { subscription: toProtoSubscription(subscription) };
    },
    async listSubscriptions(req) {
      const page = await service.listSubscriptions(req.tenantId, req.pageSize, req.pageToken);
      return {
        subscriptions: page.items.map(toProtoSubscription),
        nextPageToken: page.nextPageToken,
      };
    },
    async getUpcomingInvoice(req) {
      return { invoice: toProtoInvoice(await service.getUpcomingInvoice(req.tenantId)) };
    },
    async listCustomers(req) {
      const page = await directory.listCustomers(req);
      return {
        customers: page.items.map((entry) => toProtoCustomer(entry.customer)),
        subscriptions: page.items.flatMap((entry) =>
          entry.subscription ? [toProtoSubscription(entry.subscription)] : [],
        ),
        nextPageToken: page.nextPageToken,
      };
    },
    async countCustomers() {
      const counts = await directory.countCustomers();
      return {
        counts: counts.map((count) => ({
          planId: count.planId,
          state: count.state ? STATE_TO_PROTO[count.state] : ProtoState.UNSPECIFIED,
          customerCount: BigInt(count.count),
        })),
        customerCount: BigInt(counts.reduce((sum, count) => sum + count.count, 0)),
      };
    },
  });
}

// Line amounts and totals carry exactly the currency's minor-unit digits ("49.00", "0.35").
function toProtoInvoice(invoice: Invoice): InvoiceMessage {
  const digits = minorUnitDigits(invoice.currency);
  const money = (amount: Decimal) => amount.toFixed(digits);
  return create(InvoiceSchema, {
    tenantId: invoice.tenantId,
    subscriptionId: invoice.subscriptionId,
    planId: invoice.planId,
    periodStartTime: timestampFromDate(invoice.periodStart),
    periodEndTime: timestampFromDate(invoice.periodEnd),
    currency: invoice.currency,
    lines: invoice.lines.map((line) => ({
      description: line.description,
      resourceType: line.resourceType,
      dimensions: line.dimensions,
      quantity: line.quantity.toFixed(),
      unitAmount: line.unitAmount.toFixed(),
      amount: money(line.amount),
      kind: LINE_KIND_TO_PROTO[line.kind],
      priceOverrideId: line.priceOverrideId ?? "",
      pricingModel: line.pricingModel && PRICING_MODEL_TO_PROTO[line.pricingModel],
      tiers: line.tiers.map((tier) => ({
        upTo: tier.upTo?.toFixed() ?? "",
        quantity: tier.quantity.toFixed(),
        unitAmount: tier.unitAmount.toFixed(),
        flatAmount: tier.flatAmount.toFixed(),
        amount: tier.amount.toFixed(),
      })),
    })),
    subtotal: money(invoice.subtotal),
    total: money(invoice.total),
  });
}

// Unknown enum numbers become a name the service's validation rejects with the field named.
export function fromProtoProration(value: ProtoProration): string {
  if (value === ProtoProration.UNSPECIFIED) return "";
  const entry = Object.entries(PRORATION_TO_PROTO).find(([, proto]) => proto === value);
  return entry ? entry[0] : `unknown(${value})`;
}

function toProtoCustomer(customer: Customer): CustomerMessage {
  return create(CustomerSchema, {
    id: customer.id,
    tenantId: customer.tenantId,
    email: customer.email,
    name: customer.name,
    metadata: customer.metadata,
    createTime: timestampFromDate(customer.createTime),
  });
}

/** A plan version as the wire carries it (ListPlans, GetPlan, MigrateSubscriptions). */
export function toProtoPlan(plan: Plan): PlanMessage {
  return create(PlanSchema, {
    id: plan.id,
    displayName: plan.displayName,
    priceId: plan.priceId ?? "",
    unitAmount: plan.unitAmount?.toFixed(2) ?? "",
    currency: plan.currency,
    interval: plan.interval === "year" ? BillingInterval.YEAR : BillingInterval.MONTH,
    minimumAmount: plan.minimumAmount?.toFixed(minorUnitDigits(plan.currency)) ?? "",
    version: plan.version,
    limits: plan.limits.map(toProtoPlanLimit),
  });
}

/** One limit of a plan as the wire carries it. */
export function toProtoPlanLimit(limit: PlanLimit): PlanLimitMessage {
  return create(PlanLimitSchema, {
    resourceType: limit.resourceType,
    kind: limit.kind === "consumable" ? ResourceKind.CONSUMABLE : ResourceKind.ALLOCATION,
    limit: limit.limit?.toFixed() ?? "",
    unlimited: limit.limit === undefined,
    overageUnitAmount:
      limit.overage?.pricing.model === "per_unit" ? limit.overage.pricing.unitAmount.toFixed() : "",
    pricing: limit.overage && toProtoPricing(limit.overage.pricing),
    overageCap: limit.overage?.cap?.toFixed() ?? "",
    meterEventName: limit.overage?.meter?.eventName ?? "",
    meteredPriceId: limit.overage?.meter?.meteredPriceId ?? "",
  });
}

function toProtoSubscription(subscription: Subscription): SubscriptionMessage {
  return create(SubscriptionSchema, {
    id: subscription.id,
    customerId: subscription.customerId,
    tenantId: subscription.tenantId,
    planId: subscription.planId,
    priceId: subscription.priceId,
    state: STATE_TO_PROTO[subscription.state],
    trialEndTime: subscription.trialEndTime && timestampFromDate(subscription.trialEndTime),
    currentPeriodStartTime: timestampFromDate(subscription.currentPeriodStartTime),
    currentPeriodEndTime: timestampFromDate(subscription.currentPeriodEndTime),
    cancelAtPeriodEnd: subscription.cancelAtPeriodEnd,
    cancelTime: subscription.cancelTime && timestampFromDate(subscription.cancelTime),
    createTime: timestampFromDate(subscription.createTime),
    prorationBehavior: subscription.prorationBehavior
      ? PRORATION_TO_PROTO[subscription.prorationBehavior]
      : ProtoProration.UNSPECIFIED,
    planVersion: subscription.planVersion,
    scheduledPlanVersion: subscription.scheduledMigration?.version ?? 0,
    scheduledMigrationTime:
      subscription.scheduledMigration && timestampFromDate(subscription.scheduledMigration.time),
  });
}
