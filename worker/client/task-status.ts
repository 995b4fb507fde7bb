/** ITaskManager.TaskStatus, by its uint8 value. */
export const TASK_STATUS = ["None", "Queued", "Committing", "Revealing", "Succeeded", "Aborted"] as const;
/** ITaskManager.AbortReason, by its uint8 value. */
export const ABORT_REASON = ["None", "Cancelled", "QueueTimeout", "TooFewCommitments", "TooFewReveals", "NoMajority"] as const;

export type TaskStatusName = (typeof TASK_STATUS)[number];
export type AbortReasonName = (typeof ABORT_REASON)[number];

export const SUCCEEDED = 4n;
export const ABORTED = 5n;

export function statusName(status: bigint | number): TaskStatusName {
  return TASK_STATUS[Number(status)] ?? (`unknown(${status})` as TaskStatusName);
}

export function abortReasonName(reason: bigint | number): AbortReasonName {
  return ABORT_REASON[Number(reason)] ?? (`unknown(${reason})` as AbortReasonName);
}
