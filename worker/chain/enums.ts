/**
 * The contracts' enums by their uint8 value, in declaration order; test/chain/enums.test.ts checks each list
 * against its Solidity declaration. Values are bigints, as ethers decodes uint8 fields.
 */
export const TASK_STATUS = ["None", "Queued", "Committing", "Revealing", "Succeeded", "Aborted"] as const;
export const ABORT_REASON = ["None", "Cancelled", "QueueTimeout", "TooFewCommitments", "TooFewReveals", "NoMajority"] as const;
export const NODE_STATUS = ["None", "Available", "Busy", "PendingPause", "PendingQuit", "Paused"] as const;

export type TaskStatusName = (typeof TASK_STATUS)[number];
export type AbortReasonName = (typeof ABORT_REASON)[number];
export type NodeStatusName = (typeof NODE_STATUS)[number];

type EnumValues<Names extends readonly string[]> = { readonly [Name in Names[number]]: bigint };

function enumValues<const Names extends readonly string[]>(names: Names): EnumValues<Names> {
  return Object.freeze(Object.fromEntries(names.map((name, index) => [name, BigInt(index)]))) as EnumValues<Names>;
}

/** ITaskManager.TaskStatus: `task.status === TaskStatus.Succeeded`. */
export const TaskStatus = enumValues(TASK_STATUS);
/** ITaskManager.AbortReason. */
export const AbortReason = enumValues(ABORT_REASON);
/** INodeRegistry.NodeStatus. */
export const NodeStatus = enumValues(NODE_STATUS);

/** A value these lists do not know (a newer contract): shown as "unknown(7)" rather than hidden. */
export type UnknownEnumValue = `unknown(${string})`;

function nameOf<Name extends string>(names: readonly Name[], value: bigint | number): Name | UnknownEnumValue {
  return names[Number(value)] ?? `unknown(${value})`;
}

export const taskStatusName = (status: bigint | number): TaskStatusName | UnknownEnumValue => nameOf(TASK_STATUS, status);
export const abortReasonName = (reason: bigint | number): AbortReasonName | UnknownEnumValue => nameOf(ABORT_REASON, reason);
export const nodeStatusName = (status: bigint | number): NodeStatusName | UnknownEnumValue => nameOf(NODE_STATUS, status);
