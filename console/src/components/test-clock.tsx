import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import { type Api, hasCode } from "../api.js";
import { formatTime } from "../format.js";
import { useLoad } from "../use-load.js";
import { ConfirmAction } from "./confirm-action.js";
import { Section } from "./section.js";

const DAY_MS = 86_400_000;

/**
 * The deployment's business time and a way to move it forward, outside production. The target
 * is the time shown plus the days asked for, fixed when confirmed: sent twice, the second is
 * refused as not after the clock, so it moves once.
 */
export function TestClock({ api }: { api: Api }) {
  const clock = useLoad(() => api.billing.getTestClock({}), [api]);
  const [days, setDays] = useState("30");
  const production = clock.error !== undefined && hasCode(clock.error, Code.FailedPrecondition);
  const now = clock.data?.time;
  return (
    <Section
      title="Test clock"
      id="test-clock"
      error={production ? undefined : clock.error}
      loading={clock.loading}
      actions={
        now && (
          <ConfirmAction
            label="Advance"
            title="Advance the test clock"
            confirmLabel="Advance"
            run={async () => {
              const count = Number(days);
              if (!Number.isFinite(count) || count <= 0) return "Enter a number of days above 0.";
              const to = new Date(timestampDate(now).getTime() + count * DAY_MS);
              return api.billing.advanceTestClock({ toTime: timestampFromDate(to) });
            }}
            onDone={clock.reload}
          >
            <label for="advance-days">Days forward</label>
            <input
              id="advance-days"
              type="number"
              min="1"
              value={days}
              onInput={(e) => setDays(e.currentTarget.value)}
            />
            <p class="hint">
              Every replica moves; trial ends, rollovers, expiries and meter reports due on the way
              run in order before it answers.
            </p>
          </ConfirmAction>
        )
      }
    >
      {production ? (
        <p>Off in production: business time is the database's.</p>
      ) : (
        <dl class="facts">
          <dt>Business time</dt>
          <dd data-stat="test-clock">{formatTime(now)}</dd>
        </dl>
      )}
    </Section>
  );
}
