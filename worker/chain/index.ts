/** The off-chain code's one view of the contracts: enums, deployment records, wiring, events, ids. */
export * from "./contracts.js";
export * from "./deployment.js";
export * from "./enums.js";
export * from "./revert.js";
export * from "./task-id.js";
export * from "./wallet.js";
