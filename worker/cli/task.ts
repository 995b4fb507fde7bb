import { readFile } from "node:fs/promises";
import { type Command, InvalidArgumentError, Option } from "commander";
import { parseUnits } from "ethers";
import { connectClient, type ClientConnection } from "../client/connection.js";
import { connectDevnet } from "../devnet/client.js";
import { ContractRefusal, parseTaskId, TaskStatus, taskStatusName } from "../chain/index.js";
import { renderTaskResult } from "../client/render.js";
import { waitForResult } from "../client/result.js";
import { InvalidTaskError, submitTask } from "../client/submit.js";
import { readManifest } from "../devnet/manifest.js";

const DEFAULT_DEVNET_DIR = ".triad/devnet";

/**
 * Exit codes: 1 = failed (the message says what), 2 = invalid input (task or options), 3 = not finished yet (without
 * --wait), 4 = task aborted, 5 = no network to connect to (no devnet running, bad endpoints), 6 = the contracts refused
 * the submission (the decoded custom error is printed).
 */
const EXIT_INVALID = 2;
const EXIT_NOT_FINISHED = 3;
const EXIT_ABORTED = 4;
const EXIT_NO_NETWORK = 5;
const EXIT_REFUSED = 6;
const EXIT_FAILED = 1;

interface ConnectionOptions {
  rpc?: string;
  relay?: string;
  key?: string;
  deployments?: string;
  devnet?: string;
}

interface SubmitOptions extends ConnectionOptions {
  fee?: bigint;
  minVram?: number;
  validate: boolean;
}

interface ResultOptions extends ConnectionOptions {
  wait: boolean;
  timeout: number;
}

export function registerTask(program: Command): void {
  const task = program.command("task").description("Create tasks and read their verified results");

  withConnectionOptions(
    task
      .command("submit")
      .description("Validate a GPT task file, create the task on-chain (fee escrowed) and upload it to the relay")
      .argument("<file>", "GPT task JSON file (see examples/)")
      .option("--fee <tokens>", "fee in TRIAD (decimal); default: the contract's minimum fee", parseTokens)
      .option(
        "--min-vram <gb>",
        "only GPU groups with at least this much VRAM may run it (default: what the registry records for the task's variant)",
        parsePositiveInt("--min-vram"),
      )
      .option("--no-validate", "submit even if validation fails (the nodes then agree on the error outcome)"),
  ).action(async (file: string, options: SubmitOptions) => {
    const document = await readTaskFile(file);
    await withConnection(options, async (conn) => {
      try {
        const submitted = await submitTask(conn, document, { fee: options.fee, minVramGb: options.minVram, validate: options.validate });
        console.log(`Task ${submitted.taskId} created (tx ${submitted.createTxHash}); arguments uploaded, argsHash ${submitted.argsHash}`);
        console.log(`Follow it with: npx triad task result ${submitted.taskId} --wait${connectionHint(options)}`);
      } catch (error) {
        if (error instanceof InvalidTaskError) fail(`${file}: ${error.message}`, EXIT_INVALID);
        // A --min-vram below what the registry records for the task's variant (or out of range): bad input.
        if (error instanceof RangeError && error.message.startsWith("minVramGb")) {
          fail(error.message.replace(/^minVramGb/, "--min-vram"), EXIT_INVALID);
        }
        if (error instanceof ContractRefusal) fail(error.message, EXIT_REFUSED);
        throw error;
      }
    });
  });

  withConnectionOptions(
    task
      .command("result")
      .description("Print a task's outcome: the verified response, its nodes and result hash, or why it aborted")
      .argument("<id>", "task id", taskIdArgument)
      .option("--wait", "wait until the task succeeds or aborts", false)
      .option("--timeout <seconds>", "with --wait: give up after this long", parsePositiveInt("--timeout"), 300),
  ).action(async (taskId: bigint, options: ResultOptions) => {
    await withConnection(options, async (conn) => {
      if (!options.wait) {
        const status = (await conn.taskManager.getTask(taskId)).status;
        if (status === TaskStatus.None) fail(`the chain has no task ${taskId}`, EXIT_INVALID);
        if (status !== TaskStatus.Succeeded && status !== TaskStatus.Aborted) {
          console.log(`Task ${taskId} is ${taskStatusName(status)}; add --wait to wait for its outcome`);
          process.exitCode = EXIT_NOT_FINISHED;
          return;
        }
      }
      const result = await waitForResult(conn, taskId, { timeoutMs: options.timeout * 1000 });
      console.log(renderTaskResult(result, devnetNodeLabels(options)));
      if (result.outcome === "aborted") process.exitCode = EXIT_ABORTED;
    });
  });
}

function withConnectionOptions(command: Command): Command {
  return command
    .addOption(new Option("--rpc <url>", "JSON-RPC URL of the chain").env("TRIAD_RPC_URL"))
    .addOption(new Option("--relay <url>", "relay URL").env("TRIAD_RELAY_URL"))
    .addOption(new Option("--key <hex>", "private key of the paying account").env("TRIAD_PRIVATE_KEY"))
    .option("--deployments <dir>", "directory holding deployments/<chainId>.json", "deployments")
    .option(
      "--devnet <dir>",
      `use a running devnet's endpoints and client account (default ${DEFAULT_DEVNET_DIR} when --rpc/--relay/--key are absent)`,
    );
}

async function withConnection(options: ConnectionOptions, use: (conn: ClientConnection) => Promise<void>): Promise<void> {
  let conn: ClientConnection;
  try {
    conn = await openConnection(options);
  } catch (error) {
    fail(`cannot connect: ${(error as Error).message}`, EXIT_NO_NETWORK);
  }
  try {
    await use(conn);
  } catch (error) {
    // Failures of the network or the chain are reported as one line naming what failed, never a stack trace.
    fail((error as Error).message, EXIT_FAILED);
  } finally {
    conn.close();
  }
}

function openConnection(options: ConnectionOptions): Promise<ClientConnection> {
  const explicit = [options.rpc, options.relay, options.key];
  if (options.devnet !== undefined && explicit.some((v) => v !== undefined)) {
    fail("give either --devnet or --rpc/--relay/--key, not both", EXIT_INVALID);
  }
  if (explicit.every((v) => v === undefined)) return connectDevnet(options.devnet ?? DEFAULT_DEVNET_DIR);
  const missing = (["rpc", "relay", "key"] as const).filter((name) => options[name] === undefined);
  if (missing.length > 0) fail(`missing ${missing.map((m) => `--${m}`).join(", ")} (or use --devnet <dir>)`, EXIT_INVALID);
  return connectClient({ rpcUrl: options.rpc!, relayUrl: options.relay!, privateKey: options.key!, deploymentsDir: options.deployments });
}

function devnetNodeLabels(options: ConnectionOptions): (address: string) => string | undefined {
  if (options.rpc !== undefined) return () => undefined;
  const workers = readManifest(options.devnet ?? DEFAULT_DEVNET_DIR).workers;
  return (address) => {
    const worker = workers.find((w) => w.address.toLowerCase() === address.toLowerCase());
    return worker && `${worker.name}, ${worker.cardModel}`;
  };
}

function connectionHint(options: ConnectionOptions): string {
  return options.devnet !== undefined ? ` --devnet ${options.devnet}` : "";
}

async function readTaskFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    fail(`${file}: cannot be read: ${(error as Error).message}`, EXIT_INVALID);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    fail(`${file}: is not valid JSON: ${(error as Error).message}`, EXIT_INVALID);
  }
}

function fail(message: string, exitCode: number): never {
  console.error(`error: ${message}`);
  process.exit(exitCode);
}

function parseTokens(text: string): bigint {
  try {
    const wei = parseUnits(text, 18);
    if (wei > 0n) return wei;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError("--fee must be a positive decimal amount of TRIAD, e.g. 1 or 2.5");
}

function parsePositiveInt(flag: string): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
      throw new InvalidArgumentError(`${flag} must be a positive integer`);
    }
    return value;
  };
}

function taskIdArgument(text: string): bigint {
  try {
    return parseTaskId(text);
  } catch (error) {
    throw new InvalidArgumentError(`<id> ${(error as Error).message}`);
  }
}
