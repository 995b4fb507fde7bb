import type { Signer } from "ethers";
import { NodeRegistry__factory } from "../../typechain-types/index.js";
import { enableAllModels } from "./models.js";

/** A governed card group: nodes join it by reporting exactly this card model and VRAM. */
export interface CardGroup {
  cardModel: string;
  vramGb: number;
}

/**
 * On the devnet the deployer is governance: it adds the card group unless an active one exists already, serving
 * every registered model that fits its VRAM.
 */
export async function ensureCardGroup(nodeRegistry: string, governance: Signer, group: CardGroup): Promise<void> {
  const registry = NodeRegistry__factory.connect(nodeRegistry, governance);
  const count = await registry.groupCount();
  for (let id = 0n; id < count; id++) {
    const existing = await registry.groupAt(id);
    if (existing.cardModel === group.cardModel && Number(existing.vramGb) === group.vramGb && !existing.retired) return;
  }
  await (await registry.addGroup(group.cardModel, group.vramGb)).wait();
  await enableAllModels(registry, count);
}
