import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useState } from "preact/hooks";

/** What an operator types to grant credits or set an override. */
export function useCreditForm(resources: string[]) {
  const [resource, setResource] = useState("");
  const [amount, setAmount] = useState("");
  const [expiry, setExpiry] = useState("");
  const [unlimited, setUnlimited] = useState(false);
  return {
    resourceType: resource || resources[0] || "",
    amount: amount.trim(),
    // A datetime-local value read as UTC, like every time the console shows.
    expireTime: expiry === "" ? undefined : timestampFromDate(new Date(`${expiry}Z`)),
    unlimited,
    fields: { resources, resource, setResource, amount, setAmount, expiry, setExpiry },
    setUnlimited,
  };
}

/**
 * The resource, amount and expiry fields of a credit dialog. `amountLabel` names the amount
 * ("Quantity" of a grant, "Limit" of an override); ids are derived from it, so two dialogs on
 * one page never share a label.
 */
export function CreditFields(props: {
  form: ReturnType<typeof useCreditForm>;
  amountLabel: string;
  amountDisabled?: boolean;
}) {
  const { resources, setResource, amount, setAmount, expiry, setExpiry } = props.form.fields;
  const id = props.amountLabel.toLowerCase();
  return (
    <>
      <label for={`${id}-resource`}>Resource</label>
      <select
        id={`${id}-resource`}
        value={props.form.resourceType}
        onChange={(e) => setResource(e.currentTarget.value)}
      >
        {resources.map((type) => (
          <option key={type} value={type}>
            {type}
          </option>
        ))}
      </select>
      <label for={`${id}-amount`}>{props.amountLabel}</label>
      <input
        id={`${id}-amount`}
        inputMode="decimal"
        required={!props.amountDisabled}
        disabled={props.amountDisabled}
        value={amount}
        onInput={(e) => setAmount(e.currentTarget.value)}
      />
      <label for={`${id}-expiry`}>Expires (UTC, optional)</label>
      <input
        id={`${id}-expiry`}
        type="datetime-local"
        value={expiry}
        onInput={(e) => setExpiry(e.currentTarget.value)}
      />
    </>
  );
}
