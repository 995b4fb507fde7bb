// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Triad model registry
/// @notice Governance pins each model a task may name: its id (the task document's `model` string), the hub
/// revision its files come from, the digest of its files (keccak256 of the canonical JSON of its manifest: file
/// names, sizes and sha256, as `triad model manifest` prints it) and the VRAM each of its ONNX variants needs.
/// Each card group enables a set of models; its nodes must hold all of them (the worker verifies its files against
/// the digests before it joins or resumes: the chain cannot see files). A task names one model and is drawn only from groups that
/// enable it.
interface IModelRegistry {
    /// @notice The ONNX variants of a model export (transformers.js' names and files under `onnx/`), in the order of
    /// `variantVramGb`: Fp32 = model.onnx, Fp16 = model_fp16.onnx, Q8 = model_quantized.onnx, Q4 = model_q4.onnx,
    /// Q4f16 = model_q4f16.onnx. A task picks one through its `dtype` / `quantize_bits` (worker/engine/variants.ts).
    enum Variant {
        Fp32,
        Fp16,
        Q8,
        Q4,
        Q4f16
    }

    enum ModelStatus {
        None, // never registered
        Active, // tasks may name it
        Retired // no new tasks; groups that enable it keep serving tasks already queued
    }

    struct ModelInfo {
        ModelStatus status;
        uint32 vramGb; // VRAM of its smallest offered variant; only groups with at least this much may enable it
        uint32 servedVramGb; // the largest VRAM of an active group enabling it (0: no group serves it)
        uint32[5] variantVramGb; // VRAM each variant needs, indexed by Variant (0: variant not offered)
        Variant autoVariant; // the variant a task with dtype auto and no quantize_bits runs
        bytes32 digest; // keccak256 of the manifest's canonical JSON
        string id;
        string revision;
    }

    error InvalidModelId();
    error InvalidRevision();
    error InvalidDigest();
    /// @notice registerModel's variantVramGb is all zeros: the model would offer no variant.
    error NoVariantOffered();
    /// @notice registerModel's autoVariant has VRAM 0 (not offered).
    error AutoVariantNotOffered(Variant autoVariant);
    error ModelExists(uint256 model);
    error ModelLimitReached(uint256 maxModels);
    error UnknownModel(uint256 model);
    error UnknownModelId(string id);
    error ModelIsRetired(uint256 model);
    error ModelTooLarge(uint256 model, uint32 modelVramGb, uint32 groupVramGb);
    error ModelAlreadyEnabled(uint256 groupId, uint256 model);
    error ModelNotEnabled(uint256 groupId, uint256 model);
    error NoPendingModels(uint256 groupId);
    error ModelsNotDue(uint256 groupId, uint64 activatesAt);

    /// @notice Governance pinned a model: its id, hub revision, files digest (keccak256 of the manifest's canonical
    /// JSON), the VRAM each variant needs (indexed by Variant, 0 = not offered) and the variant dtype auto runs.
    event ModelRegistered(uint256 indexed model, string id, string revision, bytes32 digest, uint32[5] variantVramGb, Variant autoVariant);
    /// @notice Governance retired a model: no new task may name it (queued ones still run).
    event ModelRetirement(uint256 indexed model);
    /// @notice Model enabled on a group: drawable at once when the group has no nodes, else from `activatesAt`
    /// (after `activateModels`), which gives its nodes time to fetch and verify the files while paused.
    event ModelEnabled(uint256 indexed groupId, uint256 indexed model, uint64 activatesAt);
    /// @notice Governance stopped a group from serving a model.
    event ModelDisabled(uint256 indexed groupId, uint256 indexed model);
    /// @notice The group's pending models (a bitmap of model indexes) became drawable.
    event ModelsActivated(uint256 indexed groupId, uint64 models);

    /// @notice Registers a model (governance).
    /// @param id The id tasks name in their `model` field (1..64 bytes).
    /// @param revision The hub revision the files come from (1..64 bytes, a commit hash preferably).
    /// @param digest keccak256 of the manifest's canonical JSON (non-zero).
    /// @param variantVramGb VRAM (GB) each variant needs, indexed by Variant; 0 = the variant is not offered (tasks
    /// selecting it get the deterministic error `unsupported_variant`). At least one must be offered
    /// (NoVariantOffered); the entry's `vramGb` becomes the smallest offered figure.
    /// @param autoVariant The variant a task with dtype auto and no quantize_bits runs (the one the export's
    /// config.json names, as `triad model manifest` prints it); must be offered (AutoVariantNotOffered).
    /// @return model The model's index (0 .. MAX_MODELS - 1), the bit groups enable and tasks name.
    function registerModel(
        string calldata id,
        string calldata revision,
        bytes32 digest,
        uint32[5] calldata variantVramGb,
        Variant autoVariant
    ) external returns (uint256 model);

    /// @notice Retires a model (governance): createTask refuses it; queued tasks naming it can still be drawn
    /// from the groups that enable it until governance disables it there.
    /// @param model The model's index.
    function retireModel(uint256 model) external;

    /// @notice Enables an active model on an active group with at least the VRAM of the model's smallest variant
    /// (governance): the group serves the tasks whose minVramGb it meets, i.e. the variants that fit it.
    /// @param groupId The group.
    /// @param model The model's index.
    function enableModel(uint256 groupId, uint256 model) external;

    /// @notice Disables a model on a group (governance), at once: its nodes need not hold it any more.
    /// @param groupId The group.
    /// @param model The model's index.
    function disableModel(uint256 groupId, uint256 model) external;

    /// @notice Makes a group's pending models drawable once their activation time has passed (anyone may call).
    /// @param groupId The group.
    function activateModels(uint256 groupId) external;

    /// @notice Number of models registered so far, retired ones included.
    function modelCount() external view returns (uint256);

    /// @notice A model's registry entry (status None for an index never registered).
    /// @param model The model's index.
    function getModel(uint256 model) external view returns (ModelInfo memory);

    /// @notice The index of the model registered under `id`; reverts UnknownModelId if none.
    /// @param id The model id.
    function modelIndexOf(string calldata id) external view returns (uint256);

    /// @notice A group's drawable models, its pending models (bit i = model i) and when the pending ones may be
    /// activated. Its nodes must hold both sets.
    /// @param groupId The group.
    function groupModels(uint256 groupId) external view returns (uint64 enabled, uint64 pending, uint64 activatesAt);
}
