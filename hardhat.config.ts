import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";
import { triadTasks } from "./tasks/index.js";

// Compile offline with the wasm compiler shipped in the npm `solc` package (see README, "Toolchain").
const require = createRequire(import.meta.url);
const solcPath = require.resolve("solc/soljson.js");
const solcVersion: string = require("solc/package.json").version;

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  tasks: triadTasks,
  solidity: {
    version: solcVersion,
    path: solcPath,
    // Third-party contracts the deployment deploys: governance and the devnet's VRF coordinator.
    npmFilesToBuild: [
      "@openzeppelin/contracts/governance/TimelockController.sol",
      "@chainlink/contracts/src/v0.8/vrf/mocks/VRFCoordinatorV2_5Mock.sol",
    ],
    settings: {
      evmVersion: "osaka",
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    tests: { mocha: "test", solidity: "test/solidity" },
  },
  typechain: { outDir: "typechain-types" },
  test: { mocha: { timeout: 120_000 } },
  networks: {
    localhost: { type: "http", url: process.env.TRIAD_RPC_URL ?? "http://127.0.0.1:8545" },
    // The devnet's chain (`hardhat --network devnet node`): blocks mined within one second share its timestamp, so
    // chain time follows the wall clock however many blocks are mined and deadlines mean what they say.
    devnet: { type: "edr-simulated", chainType: "l1", allowBlocksWithSameTimestamp: true },
  },
});
