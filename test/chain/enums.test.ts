import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  ABORT_REASON,
  AbortReason,
  NODE_STATUS,
  NodeStatus,
  TASK_STATUS,
  TaskStatus,
  abortReasonName,
  taskStatusName,
} from "../../worker/chain/enums.js";
import { repoRoot } from "../../worker/paths.js";

/** The members of `enum <name>` in a Solidity file, in declaration order (comments removed). */
function solidityEnum(file: string, name: string): string[] {
  const source = readFileSync(path.join(repoRoot, file), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "");
  const body = new RegExp(`\\benum\\s+${name}\\s*\\{([^}]*)\\}`).exec(source)?.[1];
  if (body === undefined) throw new Error(`${file} declares no enum ${name}`);
  return body
    .split(",")
    .map((member) => member.trim())
    .filter((member) => member !== "");
}

describe("chain enums mirror the Solidity declarations", function () {
  const cases = [
    { file: "contracts/interfaces/ITaskManager.sol", name: "TaskStatus", names: TASK_STATUS, values: TaskStatus },
    { file: "contracts/interfaces/ITaskManager.sol", name: "AbortReason", names: ABORT_REASON, values: AbortReason },
    { file: "contracts/interfaces/INodeRegistry.sol", name: "NodeStatus", names: NODE_STATUS, values: NodeStatus },
  ];

  for (const { file, name, names, values } of cases) {
    it(`${name}: same members in the same order as ${file}`, function () {
      expect([...names]).to.deep.equal(solidityEnum(file, name));
      expect(Object.entries(values)).to.deep.equal(names.map((member, index) => [member, BigInt(index)]));
    });
  }

  it("names values, and shows values it does not know instead of hiding them", function () {
    expect(taskStatusName(TaskStatus.Succeeded)).to.equal("Succeeded");
    expect(taskStatusName(4)).to.equal("Succeeded");
    expect(abortReasonName(AbortReason.NoMajority)).to.equal("NoMajority");
    expect(taskStatusName(17n)).to.equal("unknown(17)");
  });
});
