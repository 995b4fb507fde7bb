/** Hardhat task registrations for operating a Triad network (`npx hardhat triad ...`). */
import { emptyTask, task } from "hardhat/config";
import { ArgumentType } from "hardhat/types/arguments";

const account = {
  name: "account",
  description: "Index of the signing account of the network",
  type: ArgumentType.INT,
  defaultValue: 0,
} as const;
const taskIdOption = { name: "id", description: "Task id", defaultValue: "" } as const;

export const triadTasks = [
  emptyTask("triad", "Operate a Triad network (deployment in deployments/<chainId>.json)").build(),
  emptyTask(["triad", "node"], "Node registry operations").build(),
  emptyTask(["triad", "task"], "Task operations").build(),
  emptyTask(["triad", "group"], "Card groups (governance)").build(),
  emptyTask(["triad", "model"], "Model registry (governance)").build(),

  task(["triad", "deploy"], "Deploy token, registry, task manager and randomness; record deployments/<chainId>.json")
    .addOption(account)
    .addOption({ name: "stake", description: "Node stake in TRIAD", defaultValue: "400" })
    .addOption({ name: "queueWindow", description: "Queue window in seconds", type: ArgumentType.INT, defaultValue: 600 })
    .addOption({ name: "commitWindow", description: "Commit window in seconds", type: ArgumentType.INT, defaultValue: 120 })
    .addOption({ name: "revealWindow", description: "Reveal window in seconds", type: ArgumentType.INT, defaultValue: 120 })
    .addOption({ name: "dir", description: "Folder for the deployment record", defaultValue: "deployments" })
    .addOption({ name: "randomness", description: "vrf-mock (Chainlink VRF v2.5 coordinator mock) or blockhash", defaultValue: "vrf-mock" })
    .addOption({ name: "governor", description: "Governance address, e.g. a TimelockController (default: the deployer)", defaultValue: "" })
    .setAction(() => import("./deploy.js"))
    .build(),
  task(["triad", "timelock"], "Deploy an OpenZeppelin TimelockController to hold Triad governance")
    .addOption(account)
    .addOption({ name: "delay", description: "Minimum delay of a proposal in seconds", type: ArgumentType.INT, defaultValue: 172800 })
    .addOption({ name: "proposers", description: "Comma-separated proposer addresses (default: the signing account)", defaultValue: "" })
    .addOption({ name: "executors", description: "Comma-separated executor addresses (default: the proposers)", defaultValue: "" })
    .setAction(() => import("./timelock.js"))
    .build(),
  task(["triad", "group", "add"], "Add a card group (governance)")
    .addOption(account)
    .addOption({ name: "card", description: "Card model exactly as the worker's device detection reports it", defaultValue: "" })
    .addOption({ name: "vram", description: "VRAM in GB", type: ArgumentType.INT, defaultValue: 0 })
    .setAction(() => import("./group-add.js"))
    .build(),
  task(["triad", "group", "retire"], "Retire a card group (governance)")
    .addOption(account)
    .addOption({ name: "id", description: "Group id", type: ArgumentType.INT, defaultValue: -1 })
    .setAction(() => import("./group-retire.js"))
    .build(),
  task(["triad", "group", "list"], "List the card groups")
    .addOption(account)
    .setAction(() => import("./group-list.js"))
    .build(),
  task(["triad", "group", "enable-model"], "Enable a registered model on a card group (governance)")
    .addOption(account)
    .addOption({ name: "group", description: "Group id", type: ArgumentType.INT, defaultValue: -1 })
    .addOption({ name: "model", description: "Registered model id", defaultValue: "" })
    .setAction(() => import("./group-enable-model.js"))
    .build(),
  task(["triad", "group", "activate-models"], "Make a group's pending models drawable once their delay passed (anyone)")
    .addOption(account)
    .addOption({ name: "group", description: "Group id", type: ArgumentType.INT, defaultValue: -1 })
    .setAction(() => import("./group-activate-models.js"))
    .build(),
  task(["triad", "model", "register"], "Register a model: id, hub revision, files digest, VRAM per variant (governance)")
    .addOption(account)
    .addOption({ name: "id", description: "Model id tasks name in their `model` field", defaultValue: "" })
    .addOption({ name: "revision", description: "Hub revision the files come from", defaultValue: "main" })
    .addOption({ name: "manifest", description: "Manifest JSON file printed by `npx triad model manifest`", defaultValue: "" })
    .addOption({ name: "digest", description: "Or the digest it printed (0x...)", defaultValue: "" })
    .addOption({ name: "vram", description: "VRAM (GB) per offered ONNX variant, e.g. fp32=2,q4f16=1", defaultValue: "" })
    .addOption({
      name: "auto",
      description: "Variant a task with dtype auto runs (as `npx triad model manifest` prints); default: the only one offered",
      defaultValue: "",
    })
    .setAction(() => import("./model-register.js"))
    .build(),
  task(["triad", "model", "retire"], "Retire a model: no new tasks name it (governance)")
    .addOption(account)
    .addOption({ name: "id", description: "Registered model id", defaultValue: "" })
    .setAction(() => import("./model-retire.js"))
    .build(),
  task(["triad", "model", "list"], "List the registered models")
    .addOption(account)
    .setAction(() => import("./model-list.js"))
    .build(),
  task(["triad", "faucet"], "Mint TRIAD (MINTER_ROLE) to an address")
    .addOption(account)
    .addOption({ name: "to", description: "Recipient (default: the signing account)", defaultValue: "" })
    .addOption({ name: "amount", description: "Amount in TRIAD", defaultValue: "1000" })
    .setAction(() => import("./faucet.js"))
    .build(),
  task(["triad", "dispatch"], "Start queued tasks whose randomness is ready")
    .addOption(account)
    .addOption({ name: "max", description: "Most queued tasks to examine", type: ArgumentType.INT, defaultValue: 16 })
    .setAction(() => import("./dispatch.js"))
    .build(),

  task(["triad", "node", "join"], "Stake and join a card group (by id, or by card model and VRAM)")
    .addOption(account)
    .addOption({ name: "group", description: "Group id (see `triad group list`)", type: ArgumentType.INT, defaultValue: -1 })
    .addOption({ name: "card", description: "GPU card model name", defaultValue: "" })
    .addOption({ name: "vram", description: "VRAM in GB", type: ArgumentType.INT, defaultValue: 0 })
    .setAction(() => import("./node-join.js"))
    .build(),
  task(["triad", "node", "pause"], "Stop being selected (a busy node pauses after its task)")
    .addOption(account)
    .setAction(() => import("./node-pause.js"))
    .build(),
  task(["triad", "node", "resume"], "Become selectable again")
    .addOption(account)
    .setAction(() => import("./node-resume.js"))
    .build(),
  task(["triad", "node", "quit"], "Leave and get the stake back (a busy node leaves after its task)")
    .addOption(account)
    .setAction(() => import("./node-quit.js"))
    .build(),
  task(["triad", "node", "status"], "Show a node's registry entry")
    .addOption(account)
    .addOption({ name: "node", description: "Node address (default: the signing account)", defaultValue: "" })
    .setAction(() => import("./node-status.js"))
    .build(),

  task(["triad", "task", "create"], "Create a task on-chain from a task JSON file (hashes its canonical JSON; no relay upload)")
    .addOption(account)
    .addOption({ name: "file", description: "Task JSON file", defaultValue: "" })
    .addOption({
      name: "minVram",
      description: "Minimum VRAM in GB (0: what the registry records for the task's variant)",
      type: ArgumentType.INT,
      defaultValue: 0,
    })
    .addOption({ name: "fee", description: "Fee in TRIAD", defaultValue: "10" })
    .setAction(() => import("./task-create.js"))
    .build(),
  task(["triad", "task", "show"], "Show a task's on-chain record")
    .addOption(account)
    .addOption(taskIdOption)
    .setAction(() => import("./task-show.js"))
    .build(),
  task(["triad", "task", "cancel"], "Cancel a queued task (creator) for a refund")
    .addOption(account)
    .addOption(taskIdOption)
    .setAction(() => import("./task-cancel.js"))
    .build(),
  task(["triad", "task", "expire"], "Advance a task whose phase deadline passed (anyone)")
    .addOption(account)
    .addOption(taskIdOption)
    .setAction(() => import("./task-expire.js"))
    .build(),
];
