import { useState } from "preact/hooks";
import {
  GrantState,
  type ListGrantsResponse,
} from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import { type Api, failureOf, type Settled } from "../api.js";
import { formatQuantity, formatTime } from "../format.js";
import { ConfirmAction } from "./confirm-action.js";
import { CreditFields, useCreditForm } from "./credit-fields.js";
import { Section } from "./section.js";
import { Table } from "./table.js";

const GRANT_STATES: Record<GrantState, string> = {
  [GrantState.UNSPECIFIED]: "—",
  [GrantState.ACTIVE]: "active",
  [GrantState.USED_UP]: "used up",
  [GrantState.EXPIRED]: "expired",
  [GrantState.VOIDED]: "voided",
};

/** The tenant's credit grants, granting more, and voiding one. */
export function TenantGrants(props: {
  api: Api;
  tenantId: string;
  resources: string[];
  grants: Settled<ListGrantsResponse>;
  onChanged(): void;
}) {
  const { api, tenantId } = props;
  const form = useCreditForm(props.resources);
  const [reason, setReason] = useState("");
  const grants = props.grants.ok ? props.grants.value.grants : [];
  return (
    <Section
      title="Credit grants"
      id="grants"
      error={failureOf(props.grants)}
      actions={
        <ConfirmAction
          label="Grant credits"
          title="Grant credits"
          confirmLabel="Grant"
          run={(requestId) =>
            api.entitlements.grantCredits({
              tenantId,
              resourceType: form.resourceType,
              quantity: form.amount,
              expireTime: form.expireTime,
              reason: reason.trim(),
              requestId,
            })
          }
          onDone={props.onChanged}
        >
          <CreditFields form={form} amountLabel="Quantity" />
          <label for="grant-reason">Reason (shown in the audit trail)</label>
          <input
            id="grant-reason"
            value={reason}
            onInput={(e) => setReason(e.currentTarget.value)}
          />
        </ConfirmAction>
      }
    >
      <Table
        columns={[
          "Resource",
          { label: "Quantity", numeric: true },
          { label: "Remaining", numeric: true },
          "State",
          "Expires",
          "Reason",
          { label: "Actions", hidden: true },
        ]}
        rowCount={grants.length}
        empty="No grants."
      >
        {grants.map((grant) => (
          <tr key={grant.id} data-grant={grant.id}>
            <td>{grant.resourceType}</td>
            <td class="num">{formatQuantity(grant.quantity)}</td>
            <td class="num">{formatQuantity(grant.remaining)}</td>
            <td>{GRANT_STATES[grant.state]}</td>
            <td>{formatTime(grant.expireTime)}</td>
            <td>{grant.reason || "—"}</td>
            <td>
              {grant.state === GrantState.ACTIVE && (
                <ConfirmAction
                  label="Void"
                  title={`Void grant ${grant.id}`}
                  danger
                  run={(requestId) => api.entitlements.voidGrant({ grantId: grant.id, requestId })}
                  onDone={props.onChanged}
                >
                  <p>
                    Its remaining {formatQuantity(grant.remaining)} {grant.resourceType} will no
                    longer count.
                  </p>
                </ConfirmAction>
              )}
            </td>
          </tr>
        ))}
      </Table>
    </Section>
  );
}
