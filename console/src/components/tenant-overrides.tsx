import type { ListEntitlementOverridesResponse } from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import { type Api, failureOf, type Settled } from "../api.js";
import { formatQuantity, formatTime } from "../format.js";
import { ConfirmAction } from "./confirm-action.js";
import { CreditFields, useCreditForm } from "./credit-fields.js";
import { Section } from "./section.js";
import { Table } from "./table.js";

/** The tenant's overrides, setting one, and removing one. */
export function TenantOverrides(props: {
  api: Api;
  tenantId: string;
  resources: string[];
  overrides: Settled<ListEntitlementOverridesResponse>;
  onChanged(): void;
}) {
  const { api, tenantId } = props;
  const form = useCreditForm(props.resources);
  const overrides = props.overrides.ok ? props.overrides.value.overrides : [];
  return (
    <Section
      title="Overrides"
      id="overrides"
      error={failureOf(props.overrides)}
      actions={
        <ConfirmAction
          label="Set override"
          title="Set an override"
          run={(requestId) =>
            api.entitlements.setEntitlementOverride({
              tenantId,
              resourceType: form.resourceType,
              limit: form.unlimited ? "" : form.amount,
              unlimited: form.unlimited,
              expireTime: form.expireTime,
              requestId,
            })
          }
          onDone={props.onChanged}
        >
          <p class="hint">The allowance replaces the plan's for this resource; grants still add.</p>
          <label class="inline">
            <input
              type="checkbox"
              checked={form.unlimited}
              onChange={(e) => form.setUnlimited(e.currentTarget.checked)}
            />
            Unlimited
          </label>
          <CreditFields form={form} amountLabel="Limit" amountDisabled={form.unlimited} />
        </ConfirmAction>
      }
    >
      <Table
        columns={[
          "Resource",
          { label: "Allowance", numeric: true },
          "Expires",
          "Set",
          { label: "Actions", hidden: true },
        ]}
        rowCount={overrides.length}
        empty="No overrides: every limit comes from the plan."
      >
        {overrides.map((override) => (
          <tr key={override.resourceType} data-override={override.resourceType}>
            <td>{override.resourceType}</td>
            <td class="num">{override.unlimited ? "unlimited" : formatQuantity(override.limit)}</td>
            <td>{formatTime(override.expireTime)}</td>
            <td>{formatTime(override.updateTime)}</td>
            <td>
              <ConfirmAction
                label="Remove"
                title={`Remove the ${override.resourceType} override`}
                danger
                run={(requestId) =>
                  api.entitlements.deleteEntitlementOverride({
                    tenantId,
                    resourceType: override.resourceType,
                    requestId,
                  })
                }
                onDone={props.onChanged}
              >
                <p>The plan's limit applies again at once.</p>
              </ConfirmAction>
            </td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}
