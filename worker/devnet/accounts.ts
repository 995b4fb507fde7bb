import { HDNodeWallet, Mnemonic } from "ethers";

/** The mnemonic behind Hardhat's built-in accounts. Public knowledge: these keys are for local devnets ONLY. */
export const HARDHAT_DEV_MNEMONIC = "test test test test test test test test test test test junk";
/** How many funded accounts `hardhat node` creates by default. */
export const HARDHAT_DEV_ACCOUNT_COUNT = 20;

export interface DevAccount {
  index: number;
  address: string;
  privateKey: string;
}

/** Hardhat's well-known dev account `index` (m/44'/60'/0'/0/index). */
export function devAccount(index: number): DevAccount {
  if (!Number.isInteger(index) || index < 0 || index >= HARDHAT_DEV_ACCOUNT_COUNT) {
    throw new RangeError(`dev account index must be an integer in 0..${HARDHAT_DEV_ACCOUNT_COUNT - 1} (got ${index})`);
  }
  const wallet = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(HARDHAT_DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`);
  return { index, address: wallet.address, privateKey: wallet.privateKey };
}
