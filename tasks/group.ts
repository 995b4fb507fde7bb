import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { connectTriad } from "./lib/connect.js";
import { readable } from "./lib/readable.js";

interface AddArgs {
  account: number;
  card: string;
  vram: number;
}

interface RetireArgs {
  account: number;
  id: number;
}

/** `triad group add`: governance (the signing account must hold the registry's admin role) adds a card group. */
export const add = readable(async (args: AddArgs, hre: HardhatRuntimeEnvironment) => {
  if (args.card.trim() === "") throw new Error("--card must be the card model exactly as the worker's device detection reports it");
  if (!Number.isInteger(args.vram) || args.vram <= 0) throw new Error(`--vram must be a positive integer in GB (got ${args.vram})`);
  const triad = await connectTriad(hre, args.account);
  await (await triad.registry.addGroup(args.card, args.vram)).wait();
  console.log(`Group ${(await triad.registry.groupCount()) - 1n} added: ${args.card}, ${args.vram} GB`);
});

/** `triad group retire`: governance retires a group (no new nodes or tasks; its nodes may quit with their stakes). */
export const retire = readable(async (args: RetireArgs, hre: HardhatRuntimeEnvironment) => {
  if (!Number.isInteger(args.id) || args.id < 0) throw new Error(`--id must be a group id (got ${args.id})`);
  const triad = await connectTriad(hre, args.account);
  await (await triad.registry.retireGroup(args.id)).wait();
  console.log(`Group ${args.id} retired`);
});

/** `triad group list`: every group with its id, card model, VRAM, available nodes and state. */
export const list = readable(async (args: { account: number }, hre: HardhatRuntimeEnvironment) => {
  const triad = await connectTriad(hre, args.account);
  const count = await triad.registry.groupCount();
  if (count === 0n) console.log("No groups yet (governance adds them with `npx hardhat triad group add`)");
  for (let id = 0n; id < count; id++) {
    const g = await triad.registry.groupAt(id);
    console.log(`${id}  ${g.cardModel}  ${g.vramGb} GB  ${g.available} available${g.retired ? "  (retired)" : ""}`);
  }
});
