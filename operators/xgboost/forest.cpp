#include "forest.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <tuple>
#include <utility>

#if defined(__x86_64__) && defined(__GNUC__)
#    include <immintrin.h>
#    define SLUICE_FOREST_AVX512 1
#else
#    define SLUICE_FOREST_AVX512 0
#endif

namespace sluice::ml::detail {

namespace {

constexpr std::uint32_t missing_goes_right = 0x8000'0000U;
constexpr std::uint32_t feature_mask = 0x7FFF'FFFFU;

// Fills the perfect-layout slot `slot` (and its subtree, down to `levels` more levels) from
// XGBoost node `node`. A leaf above the bottom becomes "always left" nodes (NaN threshold:
// `x >= NaN` is false and a missing value goes left) with its value on every leaf below.
void fill_perfect(const tree_arrays& t,
                  std::int32_t node,
                  std::size_t slot,
                  std::size_t levels,
                  std::uint32_t* features,
                  float* thresholds,
                  float* leaves,
                  std::size_t first_leaf) {
    if (levels == 0) {
        leaves[slot - first_leaf] = t.value[node];
        return;
    }
    const bool leaf = t.left[node] < 0;
    if (leaf) {
        features[slot] = 0;
        thresholds[slot] = std::numeric_limits<float>::quiet_NaN();
        fill_perfect(t, node, 2 * slot + 1, levels - 1, features, thresholds, leaves, first_leaf);
        fill_perfect(t, node, 2 * slot + 2, levels - 1, features, thresholds, leaves, first_leaf);
        return;
    }
    features[slot] = static_cast<std::uint32_t>(t.feature[node]) |
                     (t.default_left[node] != 0 ? 0U : missing_goes_right);
    thresholds[slot] = t.condition[node];
    fill_perfect(
            t, t.left[node], 2 * slot + 1, levels - 1, features, thresholds, leaves, first_leaf);
    fill_perfect(
            t, t.right[node], 2 * slot + 2, levels - 1, features, thresholds, leaves, first_leaf);
}

// Appends tree `t` to `out` as breadth-first compact nodes (children adjacent; a leaf points at
// itself). Returns the leading steps that stay within the first 8 and the first 32 nodes.
std::pair<std::uint8_t, std::uint8_t> append_deep(const tree_arrays& t,
                                                  std::vector<compiled_forest::deep_node>& out) {
    // queue[k] = XGBoost node placed at compact index k; depth_of[k] its level.
    std::vector<std::int32_t> queue{0};
    std::vector<std::uint32_t> depth_of{0};
    queue.reserve(t.left.size());
    depth_of.reserve(t.left.size());
    // Bounded by the node count: each XGBoost node is queued once (the tree was checked acyclic).
    for (std::size_t k = 0; k < queue.size(); ++k) {
        const std::int32_t node = queue[k];
        compiled_forest::deep_node n{};
        if (t.left[node] < 0) {
            n.feature = 0;
            n.threshold = std::numeric_limits<float>::quiet_NaN();
            n.left = static_cast<std::uint32_t>(k);
            n.value = t.value[node];
        } else {
            n.feature = static_cast<std::uint32_t>(t.feature[node]) |
                        (t.default_left[node] != 0 ? 0U : missing_goes_right);
            n.threshold = t.condition[node];
            n.left = static_cast<std::uint32_t>(queue.size());
            queue.push_back(t.left[node]);
            queue.push_back(t.right[node]);
            depth_of.push_back(depth_of[k] + 1);
            depth_of.push_back(depth_of[k] + 1);
        }
        out.push_back(n);
    }
    // Step s reads nodes of level <= s; breadth-first, those are the first count(level <= s).
    const auto steps_within = [&](std::size_t nodes) -> std::uint8_t {
        if (nodes >= depth_of.size()) {
            return 255;  // the whole tree fits
        }
        // Steps 0 .. level(first node outside) - 1 read only levels below it.
        return static_cast<std::uint8_t>(std::min<std::uint32_t>(depth_of[nodes], 255));
    };
    return {steps_within(8), steps_within(32)};
}

bool cpu_has(const char* feature) {
#if SLUICE_FOREST_AVX512
    __builtin_cpu_init();
    if (std::string_view(feature) == "avx512f") {
        return __builtin_cpu_supports("avx512f") != 0;
    }
    return __builtin_cpu_supports("avx2") != 0;
#else
    (void)feature;
    return false;
#endif
}

}  // namespace

compiled_forest::compiled_forest(const parsed_model& model)
    : num_features_(model.info.num_features)
    , groups_(model.groups)
    , base_margin_(model.base_margin) {
    std::size_t largest_deep = 0;
    for (const auto& t : model.trees) {
        const auto depth = t.depth();
        tree_ref ref{};
        ref.group = t.group;
        if (depth <= max_perfect_depth) {
            ref.perfect = true;
            ref.depth = static_cast<std::uint32_t>(depth);
            ref.node_offset = static_cast<std::uint32_t>(node_feature_.size());
            ref.leaf_offset = static_cast<std::uint32_t>(leaves_.size());
            const std::size_t inner = (std::size_t{1} << depth) - 1;
            node_feature_.resize(node_feature_.size() + inner, 0);
            node_threshold_.resize(node_threshold_.size() + inner, 0.0F);
            leaves_.resize(leaves_.size() + inner + 1, 0.0F);
            fill_perfect(t,
                         0,
                         0,
                         depth,
                         node_feature_.data() + ref.node_offset,
                         node_threshold_.data() + ref.node_offset,
                         leaves_.data() + ref.leaf_offset,
                         inner);
        } else {
            ref.perfect = false;
            ref.depth = static_cast<std::uint32_t>(depth);
            ref.node_offset = static_cast<std::uint32_t>(deep_nodes_.size());
            largest_deep = std::max(largest_deep, t.left.size());
            std::tie(ref.steps_in_8, ref.steps_in_32) = append_deep(t, deep_nodes_);
        }
        trees_.push_back(ref);
    }
    // The vector kernel indexes rows with 32-bit offsets within a block: always fine for a
    // 64-row block unless a row has more than 2^25 features.
    // The vector kernel loads 32 nodes and 32 leaves from each tree's start, whatever its size.
    node_feature_.resize(node_feature_.size() + 32, 0);
    node_threshold_.resize(node_threshold_.size() + 32, 0.0F);
    leaves_.resize(leaves_.size() + 32, 0.0F);
    // Likewise the first 32 nodes of a deep tree (for the registers).
    deep_nodes_.resize(deep_nodes_.size() + 32, deep_node{});
    // SLUICE_FOREST_KERNEL=avx2|scalar caps the kernel (tests and benchmarks compare them). The
    // vector kernels index a 64-row block with 32-bit offsets: fine below 2^25 features.
    // NOLINTNEXTLINE(concurrency-mt-unsafe): races only with setenv; sluice has none
    const char* cap = std::getenv("SLUICE_FOREST_KERNEL");
    const std::string_view wanted =
            cap != nullptr ? std::string_view(cap) : std::string_view("avx512");
    // Deep trees are addressed in bytes (node index << 4) within a tree: below 2^27 nodes.
    const bool small_rows =
            num_features_ < (std::size_t{1} << 25) && largest_deep < (std::size_t{1} << 27);
    if (wanted == "avx512" && small_rows && cpu_has("avx512f")) {
        kernel_ = kernel::avx512;
    } else if (wanted != "scalar" && small_rows && cpu_has("avx2")) {
        kernel_ = kernel::avx2;
    } else {
        kernel_ = kernel::scalar;
    }
}

std::size_t compiled_forest::memory_bytes() const noexcept {
    return node_feature_.size() * 4 + node_threshold_.size() * 4 + leaves_.size() * 4 +
           deep_nodes_.size() * sizeof(deep_node) + trees_.size() * sizeof(tree_ref);
}

void compiled_forest::deep_scalar(const tree_ref& t,
                                  const float* values,
                                  std::size_t rows,
                                  float* sum) const {
    // Level by level over the block, as for perfect trees; a row at a leaf stays there.
    std::uint32_t index[block_rows] = {};
    const deep_node* nodes = deep_nodes_.data() + t.node_offset;
    const std::size_t stride = num_features_;
    for (std::uint32_t level = 0; level < t.depth; ++level) {
        for (std::size_t r = 0; r < rows; ++r) {
            const deep_node& n = nodes[index[r]];
            const float x = values[r * stride + (n.feature & feature_mask)];
            const std::uint32_t right = static_cast<std::uint32_t>(x >= n.threshold) |
                                        (static_cast<std::uint32_t>(x != x) & (n.feature >> 31));
            index[r] = n.left + right;
        }
    }
    for (std::size_t r = 0; r < rows; ++r) {
        sum[r] += nodes[index[r]].value;
    }
}

void compiled_forest::block_scalar(const float* values, std::size_t rows, float* acc) const {
    std::uint32_t index[block_rows];
    const std::size_t stride = num_features_;
    for (const auto& t : trees_) {
        float* sum = acc + t.group * block_rows;
        if (!t.perfect) {
            deep_scalar(t, values, rows, sum);
            continue;
        }
        const std::uint32_t* features = node_feature_.data() + t.node_offset;
        const float* thresholds = node_threshold_.data() + t.node_offset;
        std::fill(index, index + rows, 0U);
        for (std::uint32_t level = 0; level < t.depth; ++level) {
            for (std::size_t r = 0; r < rows; ++r) {
                const std::uint32_t i = index[r];
                const std::uint32_t f = features[i];
                const float x = values[r * stride + (f & feature_mask)];
                const std::uint32_t right = static_cast<std::uint32_t>(x >= thresholds[i]) |
                                            (static_cast<std::uint32_t>(x != x) & (f >> 31));
                index[r] = 2 * i + 1 + right;
            }
        }
        const float* leaves = leaves_.data() + t.leaf_offset;
        const std::uint32_t inner = (1U << t.depth) - 1;
        for (std::size_t r = 0; r < rows; ++r) {
            sum[r] += leaves[index[r] - inner];
        }
    }
}

#if SLUICE_FOREST_AVX512
__attribute__((target("avx512f"))) void compiled_forest::block_avx512(const float* values,
                                                                      std::size_t rows,
                                                                      float* acc) const {
    // Four vectors of 16 rows each in flight: their gathers overlap.
    constexpr int lanes = 16;
    constexpr int vectors = static_cast<int>(block_rows) / lanes;
    static_assert(block_rows % lanes == 0);
    const auto stride = static_cast<std::int32_t>(num_features_);
    __m512i row_base[vectors];
    for (int v = 0; v < vectors; ++v) {
        const __m512i lane = _mm512_add_epi32(
                _mm512_set1_epi32(v * lanes),
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
        row_base[v] = _mm512_mullo_epi32(lane, _mm512_set1_epi32(stride));
    }
    // Masked gathers with a zero source: the unmasked forms start from an undefined register,
    // which GCC reports as maybe-uninitialised.
    constexpr __mmask16 all_lanes = 0xFFFF;
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i mask = _mm512_set1_epi32(static_cast<std::int32_t>(feature_mask));
    const __m512i sign = _mm512_set1_epi32(static_cast<std::int32_t>(missing_goes_right));
    for (const auto& t : trees_) {
        float* sum = acc + t.group * block_rows;
        if (!t.perfect) {
            deep_avx512(t, values, sum);
            continue;
        }
        const auto* features = reinterpret_cast<const int*>(node_feature_.data() + t.node_offset);
        const float* thresholds = node_threshold_.data() + t.node_offset;
        __m512i index[vectors];
        for (auto& start : index) {
            start = _mm512_setzero_si512();
        }
        // The first 31 nodes (levels 0-4) and, for trees of depth <= 5, all 32 leaves fit in
        // two registers each: a permute picks them per lane, leaving one gather per level
        // (the feature value) instead of three. The arrays are padded so these loads stay inside.
        const __m512i feature_lo = _mm512_loadu_si512(features);
        const __m512i feature_hi = _mm512_loadu_si512(features + lanes);
        const __m512 threshold_lo = _mm512_loadu_ps(thresholds);
        const __m512 threshold_hi = _mm512_loadu_ps(thresholds + lanes);
        for (std::uint32_t level = 0; level < t.depth; ++level) {
            const bool in_registers = level < 5;
            for (int v = 0; v < vectors; ++v) {
                __m512i f;
                __m512 threshold;
                if (in_registers) {
                    f = _mm512_permutex2var_epi32(feature_lo, index[v], feature_hi);
                    threshold = _mm512_permutex2var_ps(threshold_lo, index[v], threshold_hi);
                } else {
                    f = _mm512_mask_i32gather_epi32(
                            _mm512_setzero_si512(), all_lanes, index[v], features, 4);
                    threshold = _mm512_mask_i32gather_ps(
                            _mm512_setzero_ps(), all_lanes, index[v], thresholds, 4);
                }
                const __m512i at = _mm512_add_epi32(row_base[v], _mm512_and_si512(f, mask));
                const __m512 x =
                        _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, at, values, 4);
                const __mmask16 ge = _mm512_cmp_ps_mask(x, threshold, _CMP_GE_OQ);
                const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
                const __mmask16 missing_right = _mm512_test_epi32_mask(f, sign);
                const auto right = static_cast<__mmask16>(ge | (nan & missing_right));
                const __m512i twice_plus_one =
                        _mm512_add_epi32(_mm512_add_epi32(index[v], index[v]), one);
                index[v] = _mm512_mask_add_epi32(twice_plus_one, right, twice_plus_one, one);
            }
        }
        const float* leaves = leaves_.data() + t.leaf_offset;
        const __m512i inner = _mm512_set1_epi32(static_cast<std::int32_t>((1U << t.depth) - 1));
        const bool leaves_in_registers = t.depth <= 5;
        const __m512 leaf_lo = _mm512_loadu_ps(leaves);
        const __m512 leaf_hi = _mm512_loadu_ps(leaves + lanes);
        for (int v = 0; v < vectors; ++v) {
            const __m512i slot = _mm512_sub_epi32(index[v], inner);
            const __m512 leaf = leaves_in_registers
                                        ? _mm512_permutex2var_ps(leaf_lo, slot, leaf_hi)
                                        : _mm512_mask_i32gather_ps(
                                                  _mm512_setzero_ps(), all_lanes, slot, leaves, 4);
            float* s = sum + static_cast<std::ptrdiff_t>(v) * lanes;
            _mm512_storeu_ps(s, _mm512_add_ps(_mm512_loadu_ps(s), leaf));
        }
    }
    (void)rows;
}
__attribute__((target("avx512f"))) void compiled_forest::deep_avx512(const tree_ref& t,
                                                                     const float* values,
                                                                     float* sum) const {
    // The perfect-tree loop with three node fields gathered from one 16-byte record (one cache
    // line) instead of computed: feature, threshold, left child. Node offsets are in bytes
    // (index << 4, checked to fit 32 bits at construction), so the gathers use scale 1.
    constexpr int lanes = 16;
    constexpr int vectors = static_cast<int>(block_rows) / lanes;
    const auto stride = static_cast<std::int32_t>(num_features_);
    const __m512i lane_index =
            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512i row_base[vectors];
    for (int v = 0; v < vectors; ++v) {
        row_base[v] = _mm512_mullo_epi32(_mm512_add_epi32(_mm512_set1_epi32(v * lanes), lane_index),
                                         _mm512_set1_epi32(stride));
    }
    constexpr __mmask16 all_lanes = 0xFFFF;
    const __m512i zero = _mm512_setzero_si512();
    const __m512i one = _mm512_set1_epi32(1);
    const __m512i mask = _mm512_set1_epi32(static_cast<std::int32_t>(feature_mask));
    const __m512i sign = _mm512_set1_epi32(static_cast<std::int32_t>(missing_goes_right));
    const auto* bytes = reinterpret_cast<const char*>(deep_nodes_.data() + t.node_offset);
    const char* feature_at = bytes + offsetof(deep_node, feature);
    const char* threshold_at = bytes + offsetof(deep_node, threshold);
    const char* left_at = bytes + offsetof(deep_node, left);
    const char* value_at = bytes + offsetof(deep_node, value);
    // The first 32 nodes (the top levels, breadth-first) in two registers per field: while
    // every row is still among them a permute replaces three of the four gathers.
    const __m512i top_lo = _mm512_slli_epi32(lane_index, 4);
    const __m512i top_hi = _mm512_add_epi32(top_lo, _mm512_set1_epi32(lanes * 16));
    const __m512i feature_lo = _mm512_mask_i32gather_epi32(zero, all_lanes, top_lo, feature_at, 1);
    const __m512i feature_hi = _mm512_mask_i32gather_epi32(zero, all_lanes, top_hi, feature_at, 1);
    const __m512 threshold_lo =
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, top_lo, threshold_at, 1);
    const __m512 threshold_hi =
            _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, top_hi, threshold_at, 1);
    const __m512i left_lo = _mm512_mask_i32gather_epi32(zero, all_lanes, top_lo, left_at, 1);
    const __m512i left_hi = _mm512_mask_i32gather_epi32(zero, all_lanes, top_hi, left_at, 1);
    __m512i index[vectors];
    for (auto& start : index) {
        start = zero;
    }
    for (std::uint32_t level = 0; level < t.depth; ++level) {
        const bool in_registers = level < t.steps_in_32;
        for (int v = 0; v < vectors; ++v) {
            __m512i f;
            __m512 threshold;
            __m512i left;
            if (in_registers) {
                f = _mm512_permutex2var_epi32(feature_lo, index[v], feature_hi);
                threshold = _mm512_permutex2var_ps(threshold_lo, index[v], threshold_hi);
                left = _mm512_permutex2var_epi32(left_lo, index[v], left_hi);
            } else {
                const __m512i offset = _mm512_slli_epi32(index[v], 4);
                f = _mm512_mask_i32gather_epi32(zero, all_lanes, offset, feature_at, 1);
                threshold = _mm512_mask_i32gather_ps(
                        _mm512_setzero_ps(), all_lanes, offset, threshold_at, 1);
                left = _mm512_mask_i32gather_epi32(zero, all_lanes, offset, left_at, 1);
            }
            const __m512i at = _mm512_add_epi32(row_base[v], _mm512_and_si512(f, mask));
            const __m512 x =
                    _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, at, values, 4);
            const __mmask16 ge = _mm512_cmp_ps_mask(x, threshold, _CMP_GE_OQ);
            const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
            const __mmask16 missing_right = _mm512_test_epi32_mask(f, sign);
            const auto right = static_cast<__mmask16>(ge | (nan & missing_right));
            index[v] = _mm512_mask_add_epi32(left, right, left, one);
        }
    }
    for (int v = 0; v < vectors; ++v) {
        const __m512 leaf = _mm512_mask_i32gather_ps(
                _mm512_setzero_ps(), all_lanes, _mm512_slli_epi32(index[v], 4), value_at, 1);
        float* s = sum + static_cast<std::ptrdiff_t>(v) * lanes;
        _mm512_storeu_ps(s, _mm512_add_ps(_mm512_loadu_ps(s), leaf));
    }
}

__attribute__((target("avx2"))) void compiled_forest::deep_avx2(const tree_ref& t,
                                                                const float* values,
                                                                float* sum) const {
    // As deep_avx512 with 8 rows per vector and the first 8 nodes in one register per field.
    constexpr int lanes = 8;
    constexpr int vectors = static_cast<int>(block_rows) / lanes;
    const auto stride = static_cast<std::int32_t>(num_features_);
    const __m256i lane_index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i row_base[vectors];
    for (int v = 0; v < vectors; ++v) {
        row_base[v] = _mm256_mullo_epi32(_mm256_add_epi32(_mm256_set1_epi32(v * lanes), lane_index),
                                         _mm256_set1_epi32(stride));
    }
    const __m256i all = _mm256_set1_epi32(-1);
    const __m256 all_ps = _mm256_castsi256_ps(all);
    const __m256i zero = _mm256_setzero_si256();
    const __m256i mask = _mm256_set1_epi32(static_cast<std::int32_t>(feature_mask));
    const auto* bytes = reinterpret_cast<const char*>(deep_nodes_.data() + t.node_offset);
    const auto* feature_at = reinterpret_cast<const int*>(bytes + offsetof(deep_node, feature));
    const auto* threshold_at =
            reinterpret_cast<const float*>(bytes + offsetof(deep_node, threshold));
    const auto* left_at = reinterpret_cast<const int*>(bytes + offsetof(deep_node, left));
    const auto* value_at = reinterpret_cast<const float*>(bytes + offsetof(deep_node, value));
    const __m256i top = _mm256_slli_epi32(lane_index, 4);
    const __m256i feature_table = _mm256_mask_i32gather_epi32(zero, feature_at, top, all, 1);
    const __m256 threshold_table =
            _mm256_mask_i32gather_ps(_mm256_setzero_ps(), threshold_at, top, all_ps, 1);
    const __m256i left_table = _mm256_mask_i32gather_epi32(zero, left_at, top, all, 1);
    __m256i index[vectors];
    for (auto& start : index) {
        start = zero;
    }
    for (std::uint32_t level = 0; level < t.depth; ++level) {
        const bool in_registers = level < t.steps_in_8;
        for (int v = 0; v < vectors; ++v) {
            __m256i f;
            __m256 threshold;
            __m256i left;
            if (in_registers) {
                f = _mm256_permutevar8x32_epi32(feature_table, index[v]);
                threshold = _mm256_permutevar8x32_ps(threshold_table, index[v]);
                left = _mm256_permutevar8x32_epi32(left_table, index[v]);
            } else {
                const __m256i offset = _mm256_slli_epi32(index[v], 4);
                f = _mm256_mask_i32gather_epi32(zero, feature_at, offset, all, 1);
                threshold = _mm256_mask_i32gather_ps(
                        _mm256_setzero_ps(), threshold_at, offset, all_ps, 1);
                left = _mm256_mask_i32gather_epi32(zero, left_at, offset, all, 1);
            }
            const __m256i at = _mm256_add_epi32(row_base[v], _mm256_and_si256(f, mask));
            const __m256 x = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), values, at, all_ps, 4);
            const __m256i ge = _mm256_castps_si256(_mm256_cmp_ps(x, threshold, _CMP_GE_OQ));
            const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
            const __m256i missing_right = _mm256_srai_epi32(f, 31);
            const __m256i right =
                    _mm256_or_si256(ge, _mm256_and_si256(nan, missing_right));  // 0 or -1
            index[v] = _mm256_sub_epi32(left, right);
        }
    }
    for (int v = 0; v < vectors; ++v) {
        const __m256 leaf = _mm256_mask_i32gather_ps(
                _mm256_setzero_ps(), value_at, _mm256_slli_epi32(index[v], 4), all_ps, 1);
        float* s = sum + static_cast<std::ptrdiff_t>(v) * lanes;
        _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), leaf));
    }
}

__attribute__((target("avx2"))) void compiled_forest::block_avx2(const float* values,
                                                                 std::size_t rows,
                                                                 float* acc) const {
    // Eight vectors of 8 rows in flight. The first 7 nodes (levels 0-2) sit in one register
    // each for features and thresholds (an AVX2 permute picks from 8 entries); deeper nodes
    // are gathered.
    constexpr int lanes = 8;
    constexpr int vectors = static_cast<int>(block_rows) / lanes;
    static_assert(block_rows % lanes == 0);
    const auto stride = static_cast<std::int32_t>(num_features_);
    __m256i row_base[vectors];
    for (int v = 0; v < vectors; ++v) {
        const __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(v * lanes),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        row_base[v] = _mm256_mullo_epi32(lane, _mm256_set1_epi32(stride));
    }
    const __m256i all = _mm256_set1_epi32(-1);
    const __m256 all_ps = _mm256_castsi256_ps(all);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i mask = _mm256_set1_epi32(static_cast<std::int32_t>(feature_mask));
    for (const auto& t : trees_) {
        float* sum = acc + t.group * block_rows;
        if (!t.perfect) {
            deep_avx2(t, values, sum);
            continue;
        }
        const auto* features = reinterpret_cast<const int*>(node_feature_.data() + t.node_offset);
        const float* thresholds = node_threshold_.data() + t.node_offset;
        __m256i index[vectors];
        for (auto& start : index) {
            start = _mm256_setzero_si256();
        }
        const __m256i feature_table =
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(features));
        const __m256 threshold_table = _mm256_loadu_ps(thresholds);
        for (std::uint32_t level = 0; level < t.depth; ++level) {
            const bool in_registers = level < 3;
            for (int v = 0; v < vectors; ++v) {
                __m256i f;
                __m256 threshold;
                if (in_registers) {
                    f = _mm256_permutevar8x32_epi32(feature_table, index[v]);
                    threshold = _mm256_permutevar8x32_ps(threshold_table, index[v]);
                } else {
                    f = _mm256_mask_i32gather_epi32(
                            _mm256_setzero_si256(), features, index[v], all, 4);
                    threshold = _mm256_mask_i32gather_ps(
                            _mm256_setzero_ps(), thresholds, index[v], all_ps, 4);
                }
                const __m256i at = _mm256_add_epi32(row_base[v], _mm256_and_si256(f, mask));
                const __m256 x =
                        _mm256_mask_i32gather_ps(_mm256_setzero_ps(), values, at, all_ps, 4);
                const __m256i ge = _mm256_castps_si256(_mm256_cmp_ps(x, threshold, _CMP_GE_OQ));
                const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
                const __m256i missing_right =
                        _mm256_srai_epi32(f, 31);  // all ones if bit 31 is set
                const __m256i right =
                        _mm256_or_si256(ge, _mm256_and_si256(nan, missing_right));  // 0 or -1
                index[v] = _mm256_sub_epi32(
                        _mm256_add_epi32(_mm256_add_epi32(index[v], index[v]), one), right);
            }
        }
        const float* leaves = leaves_.data() + t.leaf_offset;
        const __m256i inner = _mm256_set1_epi32(static_cast<std::int32_t>((1U << t.depth) - 1));
        for (int v = 0; v < vectors; ++v) {
            const __m256 leaf = _mm256_mask_i32gather_ps(
                    _mm256_setzero_ps(), leaves, _mm256_sub_epi32(index[v], inner), all_ps, 4);
            float* s = sum + static_cast<std::ptrdiff_t>(v) * lanes;
            _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), leaf));
        }
    }
    (void)rows;
}
#else
void compiled_forest::block_avx512(const float* values, std::size_t rows, float* acc) const {
    block_scalar(values, rows, acc);
}
void compiled_forest::block_avx2(const float* values, std::size_t rows, float* acc) const {
    block_scalar(values, rows, acc);
}
void compiled_forest::deep_avx512(const tree_ref& t, const float* values, float* sum) const {
    deep_scalar(t, values, block_rows, sum);
}
void compiled_forest::deep_avx2(const tree_ref& t, const float* values, float* sum) const {
    deep_scalar(t, values, block_rows, sum);
}
#endif

void compiled_forest::margins(const float* values, std::size_t rows, float* out) const {
    // Accumulators on the stack for up to 16 classes (no allocation for small batches).
    constexpr std::size_t stack_groups = 16;
    float stack_acc[stack_groups * block_rows];
    std::vector<float> heap_acc;
    float* acc = stack_acc;
    if (groups_ > stack_groups) {
        heap_acc.resize(groups_ * block_rows);
        acc = heap_acc.data();
    }
    std::vector<float> padded;
    for (std::size_t first = 0; first < rows; first += block_rows) {
        const std::size_t n = std::min(block_rows, rows - first);
        const float* block = values + first * num_features_;
        std::fill(acc, acc + groups_ * block_rows, base_margin_);
        // A handful of rows is cheaper through the scalar kernel than padded to a full block.
        if (kernel_ != kernel::scalar && n >= 16) {
            if (n < block_rows) {
                // The vector kernel always reads a whole block: pad the tail with missing rows.
                padded.assign(block_rows * num_features_, std::numeric_limits<float>::quiet_NaN());
                std::copy(block, block + n * num_features_, padded.begin());
                block = padded.data();
            }
            if (kernel_ == kernel::avx512) {
                block_avx512(block, n, acc);
            } else {
                block_avx2(block, n, acc);
            }
        } else {
            block_scalar(block, n, acc);
        }
        for (std::size_t r = 0; r < n; ++r) {
            for (std::size_t g = 0; g < groups_; ++g) {
                out[(first + r) * groups_ + g] = acc[g * block_rows + r];
            }
        }
    }
}

void linear_margins(const parsed_model& model, const float* values, std::size_t rows, float* out) {
    const std::size_t features = model.info.num_features;
    const std::size_t groups = model.groups;
    const float* w = model.linear_weights.data();
    for (std::size_t r = 0; r < rows; ++r) {
        const float* row = values + r * features;
        for (std::size_t g = 0; g < groups; ++g) {
            // Same order as XGBoost's gblinear: bias + base margin first, then each present value.
            float sum = w[features * groups + g] + model.base_margin;
            for (std::size_t f = 0; f < features; ++f) {
                float x = row[f];
                if (std::isinf(x)) {
                    // XGBoost's DMatrix refuses infinities; both backends clamp them alike.
                    x = std::copysign(std::numeric_limits<float>::max(), x);
                }
                if (!std::isnan(x)) {
                    sum += x * w[f * groups + g];
                }
            }
            out[r * groups + g] = sum;
        }
    }
}

}  // namespace sluice::ml::detail
