// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title Triad token
/// @notice ERC20 used for node stakes and task fees. Holders of MINTER_ROLE can mint (the devnet faucet).
contract TriadToken is ERC20, AccessControl {
    /// @notice Role allowed to mint (the faucet on a devnet).
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param admin Receives the admin and minter roles.
    constructor(address admin) ERC20("Triad Token", "TRIAD") {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(MINTER_ROLE, admin);
    }

    /// @notice Mints `amount` tokens to `to` (faucet).
    /// @param to Recipient.
    /// @param amount Amount in wei units.
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
