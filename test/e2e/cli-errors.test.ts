import { expect } from "chai";
import { runTriad, tempStateDir } from "./helpers.js";

describe("triad task: a clear error without a network", function () {
  this.timeout(60_000);

  it("`task submit` without a devnet prints one line naming the missing devnet (exit 5), no stack trace", async function () {
    const dir = tempStateDir("no-devnet");
    const run = await runTriad(["task", "submit", "examples/greedy.json", "--devnet", dir]);
    expect(run.code).to.equal(5);
    expect(run.stderr).to.contain(`error: cannot connect: no running devnet in ${dir}`);
    expect(run.stderr).to.contain("npx triad devnet");
    expect(run.stderr).not.to.match(/\n\s+at /);
    expect(run.stderr, "no experimental warning from the bridge's store").not.to.contain("ExperimentalWarning");
  });
});
