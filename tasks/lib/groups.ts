import type { NodeRegistry } from "../../typechain-types/index.js";

/** The id of the active group (card model, VRAM); a clear error when governance has not added it. */
export async function findGroup(registry: NodeRegistry, cardModel: string, vramGb: number): Promise<bigint> {
  const count = await registry.groupCount();
  for (let id = 0n; id < count; id++) {
    const group = await registry.groupAt(id);
    if (group.cardModel === cardModel && Number(group.vramGb) === vramGb && !group.retired) return id;
  }
  throw new Error(`no active group "${cardModel}" / ${vramGb} GB (list them with \`npx hardhat triad group list\`)`);
}
