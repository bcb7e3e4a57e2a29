#pragma once

// Internal: the compiled forest, the `native` backend's evaluator.

#include "model.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::ml::detail {

/// A tree ensemble flattened into contiguous struct-of-arrays storage and evaluated over
/// blocks of rows, level by level: every row of a block takes one step down the current
/// tree before any row takes the next, so the steps of different rows overlap in the CPU
/// instead of waiting for each other's loads. No virtual call, no branch per node.
///
/// Trees up to `max_perfect_depth` are stored as perfect binary trees (node i has children
/// 2i+1 and 2i+2; a leaf above the bottom becomes a chain of "always left" nodes with a NaN
/// threshold), so a step is `i = 2i + 1 + go_right` with no child pointers to load. Deeper
/// trees (any depth) are stored as compact 16-byte nodes in breadth-first order with the two
/// children adjacent, so a step is `i = left[i] + go_right`; a leaf points at itself and so
/// absorbs the remaining steps, and the same level-by-level block loop applies. On CPUs with
/// AVX-512 both layouts are evaluated 16 rows per instruction, with AVX2 8 rows (chosen at
/// run time).
///
/// Semantics are XGBoost's: a value goes left if `x < threshold`; a NaN follows the node's
/// default direction; margins start at base_margin and add each tree's leaf in model order
/// in float. Immutable after construction: `margins` may be called from any thread.
class compiled_forest {
public:
    static constexpr std::size_t max_perfect_depth = 12;
    /// Rows evaluated together per tree pass.
    static constexpr std::size_t block_rows = 64;

    explicit compiled_forest(const parsed_model& model);

    /// Writes `groups` margins per row for `rows` rows of `num_features` floats.
    void margins(const float* values, std::size_t rows, float* out) const;

    /// The evaluation kernels, best first. The best one the CPU supports is chosen at
    /// construction; SLUICE_FOREST_KERNEL=avx2|scalar caps the choice (tests, benchmarks).
    enum class kernel {
        avx512,
        avx2,
        scalar
    };
    kernel kernel_in_use() const noexcept { return kernel_; }

    /// Bytes of tree storage (for the README's size numbers).
    std::size_t memory_bytes() const noexcept;

    struct tree_ref {
        std::uint32_t depth;        ///< levels (edges on the longest root-to-leaf path)
        std::uint32_t node_offset;  ///< first node in node_feature_ (perfect) or deep_nodes_
        std::uint32_t leaf_offset;  ///< first leaf in leaves_ (perfect only)
        std::uint32_t group;        ///< margin the tree adds to
        /// Deep trees: leading steps that only visit the first 8 / 32 nodes (breadth-first,
        /// so every node at those levels), which the AVX2 / AVX-512 kernels keep in registers.
        std::uint8_t steps_in_8;
        std::uint8_t steps_in_32;
        bool perfect;
    };

private:
    void block_scalar(const float* values, std::size_t rows, float* acc) const;
    void block_avx512(const float* values, std::size_t rows, float* acc) const;
    void block_avx2(const float* values, std::size_t rows, float* acc) const;

    std::size_t num_features_;
    std::size_t groups_;
    float base_margin_;
    std::vector<tree_ref> trees_;
    // Perfect trees: feature index with bit 31 set when a missing value goes right.
    std::vector<std::uint32_t> node_feature_;
    std::vector<float> node_threshold_;
    std::vector<float> leaves_;

public:
    /// A node of a deep tree. The children of an inner node are `left` and `left + 1`. A leaf
    /// has feature 0 (missing goes left), a NaN threshold (`x >= NaN` is false) and
    /// `left` = itself, so every further step stays on it; its value is in `value`.
    struct deep_node {
        std::uint32_t feature;  ///< feature index, bit 31 set when a missing value goes right
        float threshold;
        std::uint32_t left;  ///< index of the left child within the tree
        float value;         ///< leaf value (0 for inner nodes)
    };
    static_assert(sizeof(deep_node) == 16);

private:
    void deep_scalar(const tree_ref& t, const float* values, std::size_t rows, float* sum) const;
    void deep_avx512(const tree_ref& t, const float* values, float* sum) const;
    void deep_avx2(const tree_ref& t, const float* values, float* sum) const;
    // Deep trees: breadth-first compact nodes (one 16-byte record per node: one cache line
    // holds everything a step needs).
    std::vector<deep_node> deep_nodes_;
    kernel kernel_ = kernel::scalar;
};

/// gblinear, natively: margin = base_margin + bias + sum of weight * value over present values
/// (NaN = absent; +-inf is clamped to +-FLT_MAX because XGBoost refuses infinities here).
void linear_margins(const parsed_model& model, const float* values, std::size_t rows, float* out);

}  // namespace sluice::ml::detail
