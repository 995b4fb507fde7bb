import type { JsonRpcProvider, Signer } from "ethers";
import { VRFCoordinatorV2_5Mock__factory } from "../../typechain-types/index.js";
import { TaskManager__factory } from "../../typechain-types/index.js";

export interface BlockNudger {
  stop(): Promise<void>;
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
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();

  const schedule = () => {
    if (!stopped) timer = setTimeout(() => (tick = nudge().finally(schedule)), intervalMs);
  };
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
 * The devnet's stand-in for Chainlink's VRF nodes: every `intervalMs` it fulfils the coordinator mock's pending
 * requests (`fulfillRandomWords`), which delivers the word to the Triad randomness adapter and, in the same
 * transaction, draws the task's nodes. A real deployment has Chainlink's oracle network do this.
 */
export function startVrfFulfiller(signer: Signer, coordinator: string, consumer: string, intervalMs = 1_000): BlockNudger {
  const mock = VRFCoordinatorV2_5Mock__factory.connect(coordinator, signer);
  const pending = new Set<bigint>();
  let fromBlock = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tick: Promise<void> = Promise.resolve();

  const schedule = () => {
    if (!stopped) timer = setTimeout(() => (tick = fulfil().finally(schedule)), intervalMs);
  };
  const fulfil = async () => {
    try {
      const head = await signer.provider!.getBlockNumber();
      if (head >= fromBlock) {
        for (const event of await mock.queryFilter(mock.filters.RandomWordsRequested(), fromBlock, head)) pending.add(event.args.requestId);
        fromBlock = head + 1;
      }
      for (const requestId of [...pending]) {
        if (stopped) return;
        try {
          await (await mock.fulfillRandomWords(requestId, consumer)).wait();
        } catch {
          // already fulfilled (the mock forgets it) or refused: nothing left to deliver for this request
        }
        pending.delete(requestId);
      }
    } catch {
      // the node is restarting or stopping; try again on the next tick
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
