import { Code } from "@connectrpc/connect";
import type { GetUpcomingInvoiceResponse } from "../../../gen/tollgate/v1/billing_service_pb.js";
import { failureOf, hasCode, type Settled } from "../api.js";
import { formatMoney, formatQuantity, formatTime } from "../format.js";
import { Section } from "./section.js";
import { Table } from "./table.js";

/** What the live subscription will be charged for this period so far. */
export function TenantInvoice({ invoice }: { invoice: Settled<GetUpcomingInvoiceResponse> }) {
  const none = !invoice.ok && hasCode(invoice.error, Code.NotFound);
  const value = invoice.ok ? invoice.value.invoice : undefined;
  const currency = value?.currency ?? "";
  return (
    <Section title="Upcoming invoice" id="invoice" error={none ? undefined : failureOf(invoice)}>
      {none && <p>No live subscription, so no invoice is upcoming.</p>}
      {value && (
        <Table
          columns={[
            "Line",
            { label: "Quantity", numeric: true },
            { label: "Unit", numeric: true },
            { label: "Amount", numeric: true },
          ]}
          rowCount={value.lines.length}
          empty="No lines."
          caption={`${formatTime(value.periodStartTime)} to ${formatTime(value.periodEndTime)}, plan ${value.planId}`}
          foot={
            <tr>
              <th scope="row" colSpan={3}>
                Total
              </th>
              <td class="num">{formatMoney(value.total, currency)}</td>
            </tr>
          }
        >
          {value.lines.map((line) => (
            <tr key={line.description}>
              <td>{line.description}</td>
              <td class="num">{formatQuantity(line.quantity)}</td>
              <td class="num">{formatMoney(line.unitAmount, currency)}</td>
              <td class="num">{formatMoney(line.amount, currency)}</td>
            </tr>
          ))}
        </Table>
      )}
    </Section>
  );
}
