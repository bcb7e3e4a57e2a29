#include "forest.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <limits>

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
void fill_perfect(const tree_arrays& t, std::int32_t node, std::size_t slot, std::size_t levels,
                  std::uint32_t* features, float* thresholds, float* leaves, std::size_t first_leaf) {
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
    features[slot] = static_cast<std::uint32_t>(t.feature[node]) | (t.default_left[node] != 0 ? 0U : missing_goes_right);
    thresholds[slot] = t.condition[node];
    fill_perfect(t, t.left[node], 2 * slot + 1, levels - 1, features, thresholds, leaves, first_leaf);
    fill_perfect(t, t.right[node], 2 * slot + 2, levels - 1, features, thresholds, leaves, first_leaf);
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
    : num_features_(model.info.num_features), groups_(model.groups), base_margin_(model.base_margin) {
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
            fill_perfect(t, 0, 0, depth, node_feature_.data() + ref.node_offset,
                         node_threshold_.data() + ref.node_offset, leaves_.data() + ref.leaf_offset, inner);
        } else {
            ref.perfect = false;
            ref.node_offset = static_cast<std::uint32_t>(deep_left_.size());
            deep_left_.insert(deep_left_.end(), t.left.begin(), t.left.end());
            deep_right_.insert(deep_right_.end(), t.right.begin(), t.right.end());
            deep_feature_.insert(deep_feature_.end(), t.feature.begin(), t.feature.end());
            // A leaf's value sits in the threshold slot, as in XGBoost's own arrays.
            for (std::size_t i = 0; i < t.left.size(); ++i) {
                deep_threshold_.push_back(t.left[i] < 0 ? t.value[i] : t.condition[i]);
            }
            deep_default_left_.insert(deep_default_left_.end(), t.default_left.begin(), t.default_left.end());
        }
        trees_.push_back(ref);
    }
    // The vector kernel indexes rows with 32-bit offsets within a block: always fine for a
    // 64-row block unless a row has more than 2^25 features.
    // The vector kernel loads 32 nodes and 32 leaves from each tree's start, whatever its size.
    node_feature_.resize(node_feature_.size() + 32, 0);
    node_threshold_.resize(node_threshold_.size() + 32, 0.0F);
    leaves_.resize(leaves_.size() + 32, 0.0F);
    // SLUICE_FOREST_KERNEL=avx2|scalar caps the kernel (tests and benchmarks compare them). The
    // vector kernels index a 64-row block with 32-bit offsets: fine below 2^25 features.
    const char* cap = std::getenv("SLUICE_FOREST_KERNEL");
    const std::string_view wanted = cap != nullptr ? std::string_view(cap) : std::string_view("avx512");
    const bool small_rows = num_features_ < (std::size_t{1} << 25);
    if (wanted == "avx512" && small_rows && cpu_has("avx512f")) {
        kernel_ = kernel::avx512;
    } else if (wanted != "scalar" && small_rows && cpu_has("avx2")) {
        kernel_ = kernel::avx2;
    } else {
        kernel_ = kernel::scalar;
    }
}

std::size_t compiled_forest::memory_bytes() const noexcept {
    return node_feature_.size() * 4 + node_threshold_.size() * 4 + leaves_.size() * 4 + deep_left_.size() * 13 +
           trees_.size() * sizeof(tree_ref);
}

float compiled_forest::walk_deep(const tree_ref& t, const float* row) const {
    const std::int32_t* left = deep_left_.data() + t.node_offset;
    const std::int32_t* right = deep_right_.data() + t.node_offset;
    const std::int32_t* feature = deep_feature_.data() + t.node_offset;
    const float* threshold = deep_threshold_.data() + t.node_offset;
    const std::uint8_t* default_left = deep_default_left_.data() + t.node_offset;
    std::int32_t node = 0;
    // Bounded by the node count: the tree was checked acyclic when parsed.
    while (left[node] >= 0) {
        const float x = row[feature[node]];
        const bool go_left = std::isnan(x) ? default_left[node] != 0 : x < threshold[node];
        node = go_left ? left[node] : right[node];
    }
    return threshold[node];
}

void compiled_forest::block_scalar(const float* values, std::size_t rows, float* acc) const {
    std::uint32_t index[block_rows];
    const std::size_t stride = num_features_;
    for (const auto& t : trees_) {
        float* sum = acc + t.group * block_rows;
        if (!t.perfect) {
            for (std::size_t r = 0; r < rows; ++r) {
                sum[r] += walk_deep(t, values + r * stride);
            }
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
                const std::uint32_t right =
                        static_cast<std::uint32_t>(x >= thresholds[i]) | (static_cast<std::uint32_t>(x != x) & (f >> 31));
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
__attribute__((target("avx512f"))) void compiled_forest::block_avx512(const float* values, std::size_t rows,
                                                                       float* acc) const {
    // Four vectors of 16 rows each in flight: their gathers overlap.
    constexpr int lanes = 16;
    constexpr int vectors = static_cast<int>(block_rows) / lanes;
    static_assert(block_rows % lanes == 0);
    const auto stride = static_cast<std::int32_t>(num_features_);
    __m512i row_base[vectors];
    for (int v = 0; v < vectors; ++v) {
        const __m512i lane = _mm512_add_epi32(_mm512_set1_epi32(v * lanes),
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
            for (std::size_t r = 0; r < rows; ++r) {
                sum[r] += walk_deep(t, values + r * num_features_);
            }
            continue;
        }
        const auto* features = reinterpret_cast<const int*>(node_feature_.data() + t.node_offset);
        const float* thresholds = node_threshold_.data() + t.node_offset;
        __m512i index[vectors];
        for (int v = 0; v < vectors; ++v) {
            index[v] = _mm512_setzero_si512();
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
                    f = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), all_lanes, index[v], features, 4);
                    threshold = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, index[v], thresholds, 4);
                }
                const __m512i at = _mm512_add_epi32(row_base[v], _mm512_and_si512(f, mask));
                const __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, at, values, 4);
                const __mmask16 ge = _mm512_cmp_ps_mask(x, threshold, _CMP_GE_OQ);
                const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
                const __mmask16 missing_right = _mm512_test_epi32_mask(f, sign);
                const __mmask16 right = static_cast<__mmask16>(ge | (nan & missing_right));
                const __m512i twice_plus_one = _mm512_add_epi32(_mm512_add_epi32(index[v], index[v]), one);
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
                                        : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), all_lanes, slot, leaves, 4);
            float* s = sum + v * lanes;
            _mm512_storeu_ps(s, _mm512_add_ps(_mm512_loadu_ps(s), leaf));
        }
    }
    (void)rows;
}
__attribute__((target("avx2"))) void compiled_forest::block_avx2(const float* values, std::size_t rows,
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
        const __m256i lane = _mm256_add_epi32(_mm256_set1_epi32(v * lanes), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        row_base[v] = _mm256_mullo_epi32(lane, _mm256_set1_epi32(stride));
    }
    const __m256i all = _mm256_set1_epi32(-1);
    const __m256 all_ps = _mm256_castsi256_ps(all);
    const __m256i one = _mm256_set1_epi32(1);
    const __m256i mask = _mm256_set1_epi32(static_cast<std::int32_t>(feature_mask));
    for (const auto& t : trees_) {
        float* sum = acc + t.group * block_rows;
        if (!t.perfect) {
            for (std::size_t r = 0; r < rows; ++r) {
                sum[r] += walk_deep(t, values + r * num_features_);
            }
            continue;
        }
        const auto* features = reinterpret_cast<const int*>(node_feature_.data() + t.node_offset);
        const float* thresholds = node_threshold_.data() + t.node_offset;
        __m256i index[vectors];
        for (int v = 0; v < vectors; ++v) {
            index[v] = _mm256_setzero_si256();
        }
        const __m256i feature_table = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(features));
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
                    f = _mm256_mask_i32gather_epi32(_mm256_setzero_si256(), features, index[v], all, 4);
                    threshold = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), thresholds, index[v], all_ps, 4);
                }
                const __m256i at = _mm256_add_epi32(row_base[v], _mm256_and_si256(f, mask));
                const __m256 x = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), values, at, all_ps, 4);
                const __m256i ge = _mm256_castps_si256(_mm256_cmp_ps(x, threshold, _CMP_GE_OQ));
                const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
                const __m256i missing_right = _mm256_srai_epi32(f, 31);  // all ones if bit 31 is set
                const __m256i right = _mm256_or_si256(ge, _mm256_and_si256(nan, missing_right));  // 0 or -1
                index[v] = _mm256_sub_epi32(_mm256_add_epi32(_mm256_add_epi32(index[v], index[v]), one), right);
            }
        }
        const float* leaves = leaves_.data() + t.leaf_offset;
        const __m256i inner = _mm256_set1_epi32(static_cast<std::int32_t>((1U << t.depth) - 1));
        for (int v = 0; v < vectors; ++v) {
            const __m256 leaf =
                    _mm256_mask_i32gather_ps(_mm256_setzero_ps(), leaves, _mm256_sub_epi32(index[v], inner), all_ps, 4);
            float* s = sum + v * lanes;
            _mm256_storeu_ps(s, _mm256_add_ps(_mm256_loadu_ps(s), leaf));
        }
    }
}
#else
void compiled_forest::block_avx512(const float* values, std::size_t rows, float* acc) const {
    block_scalar(values, rows, acc);
}
void compiled_forest::block_avx2(const float* values, std::size_t rows, float* acc) const {
    block_scalar(values, rows, acc);
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
