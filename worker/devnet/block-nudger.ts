import type { JsonRpcProvider, Signer } from "ethers";
import { TaskManager__factory, VRFCoordinatorV2_5Mock__factory, VrfRandomness__factory } from "../../typechain-types/index.js";

export interface BlockNudger {
  stop(): Promise<void>;
}

/**
 * Runs `work` every `intervalMs` (the next run is scheduled when one ends, so runs never overlap) until stopped;
 * `stop` waits for a run in progress. `work` must not reject: each loop catches what the next tick retries.
 */
function repeatEvery(intervalMs: number, work: () => Promise<void>): BlockNudger {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (!stopped) {
      timer = setTimeout(() => {
        tick = work().finally(schedule);
      }, intervalMs);
    }
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await tick;
    },
  };
}

/**
 * With automine a block is mined only for a transaction, but a queued task waits for the hash of the block after
 * its createTask block (BlockhashRandomness): nothing would ever mine it. While tasks are queued this mines an
 * empty block every `intervalMs`, so their randomness becomes ready. Otherwise it mines one whenever the latest
 * block is a second or more behind the wall clock, so an idle chain's time still moves: workers see a deadline
 * pass (and expire the task) within about a second of it passing. The devnet's chain lets blocks share a
 * timestamp, so this never pushes chain time ahead of the wall clock.
 */
export function startBlockNudger(provider: JsonRpcProvider, taskManager: string, intervalMs = 1_000): BlockNudger {
  const manager = TaskManager__factory.connect(taskManager, provider);
  const nudge = async () => {
    try {
      if ((await manager.queueLength()) > 0n) {
        await provider.send("evm_mine", []);
        return;
      }
      const latest = await provider.getBlock("latest");
      if (latest && latest.timestamp < Math.floor(Date.now() / 1000)) await provider.send("evm_mine", []);
    } catch {
      // the node is restarting or stopping; try again on the next tick
    }
  };
  return repeatEvery(intervalMs, nudge);
}

/**
 * The devnet's stand-in for Chainlink's VRF nodes: every `intervalMs` it fulfils the coordinator mock's pending
 * requests (`fulfillRandomWords`), which delivers the word to the Triad randomness adapter and, in the same
 * transaction, draws the task's nodes. A real deployment has Chainlink's oracle network do this.
 *
 * Requests are found from the coordinator's RandomWordsRequested events. A reorganisation (or `evm_revert`) can
 * bring back a request that was already fulfilled, or drop the blocks the scan cursor points into: when the last
 * scanned block's hash changed, the scan starts again from `fromBlock` and every request the adapter still
 * reports as pending (`pendingTask`) is fulfilled again.
 */
export function startVrfFulfiller(
  signer: Signer,
  coordinator: string,
  adapter: string,
  options: { fromBlock: number; intervalMs?: number },
): BlockNudger {
  const mock = VRFCoordinatorV2_5Mock__factory.connect(coordinator, signer);
  const randomness = VrfRandomness__factory.connect(adapter, signer);
  const provider = signer.provider!;
  const requests = new Set<bigint>();
  let scanned: { number: number; hash: string } | undefined;
  let stopped = false;
  /** Adds the requests of the blocks not scanned yet; rescans everything after a reorganisation. */
  const scan = async () => {
    const head = await provider.getBlock("latest");
    if (!head) return;
    if (scanned && (await provider.getBlock(scanned.number))?.hash !== scanned.hash) scanned = undefined;
    const from = scanned ? scanned.number + 1 : options.fromBlock;
    if (head.number >= from) {
      for (const event of await mock.queryFilter(mock.filters.RandomWordsRequested(), from, head.number))
        requests.add(event.args.requestId);
    }
    scanned = { number: head.number, hash: head.hash! };
  };
  const fulfil = async () => {
    try {
      await scan();
      for (const requestId of [...requests]) {
        if (stopped) return;
        if (!(await randomness.pendingTask(requestId)).pending) {
          requests.delete(requestId);
          continue;
        }
        try {
          await (await mock.fulfillRandomWords(requestId, adapter)).wait();
          requests.delete(requestId);
        } catch {
          // refused by the mock (the request is gone) or the node is restarting: the next tick checks it again
        }
      }
    } catch {
      // the node is restarting or stopping; try again on the next tick
    }
  };
  const loop = repeatEvery(options.intervalMs ?? 1_000, fulfil);
  return {
    async stop() {
      stopped = true;
      await loop.stop();
    },
  };
}
