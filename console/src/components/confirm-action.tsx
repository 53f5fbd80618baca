import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../api.js";
import { newRequestId } from "../format.js";

/**
 * A button that opens a confirmation dialog and runs `run` once confirmed. The request id is
 * chosen when the dialog opens and kept until it closes, so a double click, or a retry after
 * a timeout, acts once: the server replays the first answer for a repeated `request_id`.
 * `run` resolves to a string when the form cannot be sent (the message to show), or to the
 * call's answer when it went through.
 */
export function ConfirmAction(props: {
  label: string;
  title: string;
  confirmLabel?: string;
  danger?: boolean;
  disabled?: boolean;
  run(requestId: string): Promise<unknown>;
  onDone(): void;
  children?: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [requestId, setRequestId] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();

  useEffect(() => {
    if (open) dialog.current?.showModal();
    else dialog.current?.close();
  }, [open]);

  const start = () => {
    setRequestId(newRequestId());
    setProblem(undefined);
    setOpen(true);
  };
  const confirm = async (event: Event) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    try {
      const answer = await props.run(requestId);
      if (typeof answer === "string") {
        setProblem(answer);
      } else {
        setOpen(false);
        props.onDone();
      }
    } catch (error) {
      setProblem(describeError(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        class={props.danger ? "danger" : undefined}
        disabled={props.disabled}
        onClick={start}
      >
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={`${requestId}-title`} onClose={() => setOpen(false)}>
        {open && (
          <form method="dialog" onSubmit={confirm}>
            <h2 id={`${requestId}-title`}>{props.title}</h2>
            {props.children}
            {problem !== undefined && (
              <p class="error" role="alert">
                {problem}
              </p>
            )}
            <p class="hint">Request id {requestId}: repeating this confirmation acts once.</p>
            <div class="dialog-buttons">
              <button type="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button type="submit" class={props.danger ? "danger" : "primary"} disabled={busy}>
                {busy ? "Working…" : (props.confirmLabel ?? "Confirm")}
              </button>
            </div>
          </form>
        )}
      </dialog>
    </>
  );
}
