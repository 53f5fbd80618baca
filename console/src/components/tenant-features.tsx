import { useState } from "preact/hooks";
import {
  type Feature,
  FeatureSource,
  type GetFeaturesResponse,
} from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import { type Api, failureOf, type Settled } from "../api.js";
import { formatTime } from "../format.js";
import { ConfirmAction } from "./confirm-action.js";
import { Section } from "./section.js";
import { Table } from "./table.js";

const SOURCE_LABEL: Record<FeatureSource, string> = {
  [FeatureSource.UNSPECIFIED]: "—",
  [FeatureSource.PLAN]: "plan",
  [FeatureSource.OVERRIDE]: "override",
  [FeatureSource.DEFAULT]: "default",
};

// A feature's value as text: booleans as on/off, numbers and words as they are.
function valueText(feature: Feature): string {
  const { value } = feature;
  if (value.case === "boolValue") return value.value ? "on" : "off";
  return value.value ?? "";
}

/** The tenant's features with where each value comes from, and setting or removing an override. */
export function TenantFeatures(props: {
  api: Api;
  tenantId: string;
  features: Settled<GetFeaturesResponse>;
  onChanged(): void;
}) {
  const { api, tenantId } = props;
  const features = props.features.ok ? props.features.value.features : [];
  const [name, setName] = useState("");
  const [value, setValue] = useState("");
  const feature = name || features[0]?.name || "";
  return (
    <Section
      title="Features"
      id="features"
      error={failureOf(props.features)}
      actions={
        <ConfirmAction
          label="Set feature"
          title="Set a feature override"
          run={(requestId) =>
            api.entitlements.setFeatureOverride({
              tenantId,
              feature,
              value: value.trim(),
              requestId,
            })
          }
          onDone={props.onChanged}
        >
          <p class="hint">
            The value replaces the plan's for this tenant: true or false, a number, or one of the
            feature's words.
          </p>
          <label for="feature-name">Feature</label>
          <select
            id="feature-name"
            value={feature}
            onChange={(e) => setName(e.currentTarget.value)}
          >
            {features.map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
          </select>
          <label for="feature-value">Value</label>
          <input
            id="feature-value"
            required
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </ConfirmAction>
      }
    >
      <Table
        columns={[
          "Feature",
          "Value",
          "Source",
          "Override ends",
          { label: "Actions", hidden: true },
        ]}
        rowCount={features.length}
        empty="The catalog declares no features."
      >
        {features.map((f) => (
          <tr key={f.name} data-feature={f.name}>
            <td>{f.name}</td>
            <td>{valueText(f)}</td>
            <td>{SOURCE_LABEL[f.source]}</td>
            <td>{formatTime(f.overrideExpireTime)}</td>
            <td>
              {f.source === FeatureSource.OVERRIDE && (
                <ConfirmAction
                  label="Remove"
                  title={`Remove the ${f.name} override`}
                  danger
                  run={(requestId) =>
                    api.entitlements.deleteFeatureOverride({ tenantId, feature: f.name, requestId })
                  }
                  onDone={props.onChanged}
                >
                  <p>The plan's value applies again at once.</p>
                </ConfirmAction>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}
