import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";
import {
  GrantState,
  type ListEntitlementOverridesResponse,
  type ListGrantsResponse,
} from "../../../gen/tollgate/v1/entitlement_service_pb.js";
import type { Api, Settled } from "../api.js";
import { formatQuantity, formatTime } from "../format.js";
import { ConfirmAction } from "./confirm-action.js";
import { Section } from "./section.js";

const GRANT_STATES: Record<GrantState, string> = {
  [GrantState.UNSPECIFIED]: "—",
  [GrantState.ACTIVE]: "active",
  [GrantState.USED_UP]: "used up",
  [GrantState.EXPIRED]: "expired",
  [GrantState.VOIDED]: "voided",
};

// A datetime-local value read as UTC, like every time the console shows.
function expiryOf(value: string) {
  return value === "" ? undefined : timestampFromDate(new Date(`${value}Z`));
}

/** Grants and overrides, and the actions that give or take them. */
export function TenantCredits(props: {
  api: Api;
  tenantId: string;
  resources: string[];
  grants: Settled<ListGrantsResponse>;
  overrides: Settled<ListEntitlementOverridesResponse>;
  onChanged(): void;
}) {
  const { api, tenantId } = props;
  const [resource, setResource] = useState("");
  const [quantity, setQuantity] = useState("");
  const [expiry, setExpiry] = useState("");
  const [reason, setReason] = useState("");
  const [unlimited, setUnlimited] = useState(false);
  const resourceType = resource || props.resources[0] || "";
  const fields = (withQuantity: "quantity" | "limit") => (
    <>
      <label for={`${withQuantity}-resource`}>Resource</label>
      <select
        id={`${withQuantity}-resource`}
        value={resourceType}
        onChange={(e) => setResource(e.currentTarget.value)}
      >
        {props.resources.map((type) => (
          <option key={type} value={type}>
            {type}
          </option>
        ))}
      </select>
      {withQuantity === "limit" && (
        <label class="inline">
          <input
            type="checkbox"
            checked={unlimited}
            onChange={(e) => setUnlimited(e.currentTarget.checked)}
          />
          Unlimited
        </label>
      )}
      <label for={`${withQuantity}-amount`}>
        {withQuantity === "quantity" ? "Quantity" : "Limit"}
      </label>
      <input
        id={`${withQuantity}-amount`}
        inputMode="decimal"
        required={!(withQuantity === "limit" && unlimited)}
        disabled={withQuantity === "limit" && unlimited}
        value={quantity}
        onInput={(e) => setQuantity(e.currentTarget.value)}
      />
      <label for={`${withQuantity}-expiry`}>Expires (UTC, optional)</label>
      <input
        id={`${withQuantity}-expiry`}
        type="datetime-local"
        value={expiry}
        onInput={(e) => setExpiry(e.currentTarget.value)}
      />
    </>
  );
  const grants = props.grants.ok ? props.grants.value.grants : [];
  const overrides = props.overrides.ok ? props.overrides.value.overrides : [];
  return (
    <>
      <Section
        title="Credit grants"
        id="grants"
        error={props.grants.ok ? undefined : props.grants.error}
        actions={
          <ConfirmAction
            label="Grant credits"
            title="Grant credits"
            confirmLabel="Grant"
            run={async (requestId) => {
              await api.entitlements.grantCredits({
                tenantId,
                resourceType,
                quantity: quantity.trim(),
                expireTime: expiryOf(expiry),
                reason: reason.trim(),
                requestId,
              });
              return undefined;
            }}
            onDone={props.onChanged}
          >
            {fields("quantity")}
            <label for="grant-reason">Reason (shown in the audit trail)</label>
            <input
              id="grant-reason"
              value={reason}
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </ConfirmAction>
        }
      >
        {grants.length === 0 && <p>No grants.</p>}
        {grants.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Resource</th>
                  <th scope="col" class="num">
                    Quantity
                  </th>
                  <th scope="col" class="num">
                    Remaining
                  </th>
                  <th scope="col">State</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Reason</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
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
                          run={async (requestId) => {
                            await api.entitlements.voidGrant({ grantId: grant.id, requestId });
                            return undefined;
                          }}
                          onDone={props.onChanged}
                        >
                          <p>
                            Its remaining {formatQuantity(grant.remaining)} {grant.resourceType}{" "}
                            will no longer count.
                          </p>
                        </ConfirmAction>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
      <Section
        title="Overrides"
        id="overrides"
        error={props.overrides.ok ? undefined : props.overrides.error}
        actions={
          <ConfirmAction
            label="Set override"
            title="Set an override"
            run={async (requestId) => {
              await api.entitlements.setEntitlementOverride({
                tenantId,
                resourceType,
                limit: unlimited ? "" : quantity.trim(),
                unlimited,
                expireTime: expiryOf(expiry),
                requestId,
              });
              return undefined;
            }}
            onDone={props.onChanged}
          >
            <p class="hint">
              The allowance replaces the plan's for this resource; grants still add.
            </p>
            {fields("limit")}
          </ConfirmAction>
        }
      >
        {overrides.length === 0 && <p>No overrides: every limit comes from the plan.</p>}
        {overrides.length > 0 && (
          <div class="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Resource</th>
                  <th scope="col" class="num">
                    Allowance
                  </th>
                  <th scope="col">Expires</th>
                  <th scope="col">Set</th>
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {overrides.map((override) => (
                  <tr key={override.resourceType} data-override={override.resourceType}>
                    <td>{override.resourceType}</td>
                    <td class="num">
                      {override.unlimited ? "unlimited" : formatQuantity(override.limit)}
                    </td>
                    <td>{formatTime(override.expireTime)}</td>
                    <td>{formatTime(override.updateTime)}</td>
                    <td>
                      <ConfirmAction
                        label="Remove"
                        title={`Remove the ${override.resourceType} override`}
                        danger
                        run={async (requestId) => {
                          await api.entitlements.deleteEntitlementOverride({
                            tenantId,
                            resourceType: override.resourceType,
                            requestId,
                          });
                          return undefined;
                        }}
                        onDone={props.onChanged}
                      >
                        <p>The plan's limit applies again at once.</p>
                      </ConfirmAction>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </>
  );
}
