import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  EntitlementService as EntitlementServiceDesc,
  type Feature as FeatureMessage,
  FeatureOverrideSchema,
  FeatureSchema,
  FeatureSource as ProtoFeatureSource,
  FeatureType as ProtoFeatureType,
} from "../../gen/tollgate/v1/entitlement_service_pb.js";
import type { PlanCatalog } from "../catalog/catalog.js";
import { type FeatureType, type FeatureValue, featureValueJson } from "../catalog/features.js";
import { handlersOf, type ServiceHandlers } from "../platform/server/module.js";
import { actorOf } from "../platform/server/request-context.js";
import { fromProtoTimestamp } from "../platform/server/timestamp.js";
import {
  type FeatureOverride,
  type FeatureSource,
  isEnabled,
  type TenantFeature,
} from "./features.js";
import type { FeatureService } from "./service.js";

const TYPE_TO_PROTO: Record<FeatureType, ProtoFeatureType> = {
  boolean: ProtoFeatureType.BOOLEAN,
  number: ProtoFeatureType.NUMBER,
  string: ProtoFeatureType.STRING,
};

const SOURCE_TO_PROTO: Record<FeatureSource, ProtoFeatureSource> = {
  plan: ProtoFeatureSource.PLAN,
  override: ProtoFeatureSource.OVERRIDE,
  default: ProtoFeatureSource.DEFAULT,
};

/**
 * The handlers of features and feature overrides, which the proto puts in
 * `tollgate.v1.EntitlementService`: proto ↔ domain mapping and nothing else.
 */
export function createFeatureRpc(features: FeatureService, catalog: PlanCatalog): ServiceHandlers {
  const toProtoFeature = (feature: TenantFeature): FeatureMessage =>
    create(FeatureSchema, {
      name: feature.name,
      type: TYPE_TO_PROTO[feature.value.type],
      source: SOURCE_TO_PROTO[feature.source],
      value: toProtoValue(feature.value),
      overrideExpireTime:
        feature.overrideExpireTime && timestampFromDate(feature.overrideExpireTime),
      enabled: isEnabled(catalog, feature),
    });
  return handlersOf(EntitlementServiceDesc, {
    async getFeatures(req) {
      const { planId, features: all } = await features.getFeatures(req.tenantId);
      return { planId, features: all.map(toProtoFeature) };
    },
    async checkFeature(req) {
      const { enabled, feature } = await features.checkFeature(req);
      return { enabled, feature: toProtoFeature(feature) };
    },
    async setFeatureOverride(req, ctx) {
      const override = await features.setOverride(actorOf(ctx), {
        ...req,
        expireTime: fromProtoTimestamp(req.expireTime),
      });
      return { override: toProtoOverride(override) };
    },
    async deleteFeatureOverride(req, ctx) {
      return { override: toProtoOverride(await features.deleteOverride(actorOf(ctx), req)) };
    },
    async listFeatureOverrides(req) {
      const overrides = await features.listOverrides(req.tenantId, req.includeExpired);
      return { overrides: overrides.map(toProtoOverride) };
    },
  });
}

function toProtoValue(value: FeatureValue): FeatureMessage["value"] {
  switch (value.type) {
    case "boolean":
      return { case: "boolValue", value: value.value };
    case "number":
      return { case: "numberValue", value: value.value.toFixed() };
    case "string":
      return { case: "stringValue", value: value.value };
  }
}

function toProtoOverride(override: FeatureOverride) {
  return create(FeatureOverrideSchema, {
    tenantId: override.tenantId,
    feature: override.feature,
    value: String(featureValueJson(override.value)),
    expireTime: override.expireTime && timestampFromDate(override.expireTime),
    createTime: timestampFromDate(override.createTime),
    updateTime: timestampFromDate(override.updateTime),
  });
}
