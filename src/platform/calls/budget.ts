import { DeadlineExceededError } from "../errors/domain-error.js";

/**
 * How long a caller is still waiting, as domain services see it: the call's abort signal
 * (deadline, cancellation) and its deadline as a wall-clock time, when it has one. Work for a
 * caller who has given up is never started, so it records nothing.
 */
export interface CallBudget {
  signal?: AbortSignal;
  /** Epoch milliseconds (wall clock, like the transport's own timer). */
  deadline?: number;
}

/** Milliseconds left before the deadline; undefined without one, zero or less once passed. */
export function remainingMs(budget: CallBudget): number | undefined {
  return budget.deadline === undefined ? undefined : budget.deadline - Date.now();
}

/** Whether the caller has given up: its deadline passed or it cancelled. */
export function isSpent(budget: CallBudget): boolean {
  const left = remainingMs(budget);
  return budget.signal?.aborted === true || (left !== undefined && left <= 0);
}

/** The error for work not done because its caller gave up. */
export function deadlineExceeded(): DeadlineExceededError {
  return new DeadlineExceededError(
    "the deadline passed before the work could start; nothing was recorded",
  );
}

/** Throws {@link deadlineExceeded} when the caller has given up. */
export function assertLive(budget: CallBudget): void {
  if (isSpent(budget)) throw deadlineExceeded();
}
