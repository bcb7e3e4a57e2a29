// Reads a `models/*.train.yaml` training spec.

#include <sluice/ops/xgboost.hpp>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <set>
#include <stdexcept>

namespace sluice::ml {

namespace {

class spec_reader {
public:
    explicit spec_reader(std::string path)
        : path_(std::move(path)) {}

    [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const {
        const auto mark = at.Mark();
        if (mark.is_null()) {
            throw std::runtime_error(fmt::format("{}: error: {}", path_, message));
        }
        throw std::runtime_error(
                fmt::format("{}:{}:{}: error: {}", path_, mark.line + 1, mark.column + 1, message));
    }

    void only(const YAML::Node& map,
              const std::set<std::string>& keys,
              const std::string& where) const {
        if (!map.IsMap()) {
            fail(map, fmt::format("'{}' must be a mapping", where));
        }
        for (const auto& item : map) {
            const auto key = item.first.Scalar();
            if (keys.count(key) == 0) {
                std::string known;
                for (const auto& k : keys) {
                    known += known.empty() ? k : ", " + k;
                }
                fail(item.first,
                     fmt::format("'{}' has no field '{}' (fields: {})", where, key, known));
            }
        }
    }

    template <typename T>
    T get(const YAML::Node& node, const std::string& what) const {
        try {
            return node.as<T>();
        } catch (const YAML::Exception&) {
            fail(node, fmt::format("'{}' has the wrong type", what));
        }
    }

    std::string scalar(const YAML::Node& map,
                       const std::string& key,
                       const std::string& where,
                       bool required) const {
        const auto node = map[key];
        if (!node) {
            if (required) {
                fail(map, fmt::format("'{}' requires '{}'", where, key));
            }
            return {};
        }
        if (!node.IsScalar()) {
            fail(node, fmt::format("'{}' must be a single value", key));
        }
        return node.Scalar();
    }

private:
    std::string path_;
};

// Expands ${NAME} and ${NAME:-default} from the environment (e.g.
// ${SLUICE_DATA_DIR:-../shared/data}).
std::string expand(const std::string& text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        const auto start = text.find("${", i);
        if (start == std::string::npos) {
            out += text.substr(i);
            break;
        }
        const auto end = text.find('}', start);
        if (end == std::string::npos) {
            out += text.substr(i);
            break;
        }
        out += text.substr(i, start - i);
        const auto inner = text.substr(start + 2, end - start - 2);
        const auto dash = inner.find(":-");
        const auto name = inner.substr(0, dash);
        // NOLINTNEXTLINE(concurrency-mt-unsafe): races only with setenv; sluice has none
        const char* value = std::getenv(name.c_str());
        if (value != nullptr && *value != '\0') {
            out += value;
        } else if (dash != std::string::npos) {
            out += inner.substr(dash + 2);
        }
        i = end + 1;
    }
    return out;
}

}  // namespace

training_spec load_training_spec(const std::string& path) {
    YAML::Node root;
    try {
        root = YAML::LoadFile(path);
    } catch (const YAML::BadFile&) {
        throw std::runtime_error(fmt::format("{}: error: cannot open the training spec", path));
    } catch (const YAML::ParserException& e) {
        throw std::runtime_error(fmt::format(
                "{}:{}:{}: error: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg));
    }
    const spec_reader r(path);
    r.only(root,
           {"name",
            "description",
            "data",
            "features",
            "label",
            "rounds",
            "params",
            "split",
            "output",
            "threshold",
            "reference",
            "notes"},
           "training spec");
    training_spec s;
    s.name = r.scalar(root, "name", "training spec", true);
    s.description = r.scalar(root, "description", "training spec", false);
    s.label = r.scalar(root, "label", "training spec", true);
    if (root["rounds"]) {
        const auto rounds = r.get<long>(root["rounds"], "rounds");
        if (rounds < 1 || rounds > 100'000) {
            r.fail(root["rounds"],
                   fmt::format("'rounds' must be between 1 and 100000, got {}", rounds));
        }
        s.rounds = static_cast<std::size_t>(rounds);
    }
    if (root["threshold"]) {
        s.threshold = r.get<double>(root["threshold"], "threshold");
    }

    const auto data = root["data"];
    if (!data) {
        r.fail(root, "'training spec' requires 'data'");
    }
    r.only(data, {"source", "path", "rows", "time_column", "simulator"}, "data");
    const auto source = r.scalar(data, "source", "data", true);
    if (source == "simulator") {
        s.data.type = training_source::kind::simulator;
    } else if (source == "ndjson") {
        s.data.type = training_source::kind::ndjson;
    } else if (source == "csv") {
        s.data.type = training_source::kind::csv;
    } else {
        r.fail(data["source"],
               fmt::format("'source' must be simulator, ndjson or csv, got '{}'", source));
    }
    s.data.path =
            expand(r.scalar(data, "path", "data", s.data.type != training_source::kind::simulator));
    if (data["rows"]) {
        const auto rows = r.get<long>(data["rows"], "rows");
        if (rows < 0 || rows > 100'000'000) {
            r.fail(data["rows"],
                   fmt::format("'rows' must be between 0 and 100000000, got {}", rows));
        }
        s.data.rows = static_cast<std::size_t>(rows);
    } else if (s.data.type != training_source::kind::simulator) {
        s.data.rows = 0;
    }
    if (data["time_column"]) {
        s.data.time_column = r.scalar(data, "time_column", "data", false);
    }
    if (const auto sim = data["simulator"]) {
        r.only(sim,
               {"sensors",
                "seed",
                "interval_ms",
                "anomaly_rate",
                "start_time_ms",
                "buildings",
                "floors"},
               "simulator");
        auto& c = s.data.simulator;
        if (sim["sensors"]) {
            c.sensors = r.get<std::size_t>(sim["sensors"], "sensors");
        }
        if (sim["seed"]) {
            c.seed = r.get<std::uint64_t>(sim["seed"], "seed");
        }
        if (sim["interval_ms"]) {
            c.interval_ms = r.get<std::int64_t>(sim["interval_ms"], "interval_ms");
        }
        if (sim["anomaly_rate"]) {
            c.anomaly_rate = r.get<double>(sim["anomaly_rate"], "anomaly_rate");
        }
        if (sim["start_time_ms"]) {
            c.start_time_ms = r.get<std::int64_t>(sim["start_time_ms"], "start_time_ms");
        }
        if (sim["buildings"]) {
            c.buildings = r.get<std::size_t>(sim["buildings"], "buildings");
        }
        if (sim["floors"]) {
            c.floors = r.get<std::size_t>(sim["floors"], "floors");
        }
        if (c.sensors < 1 || c.interval_ms < 1 || c.floors < 1 || c.anomaly_rate < 0 ||
            c.anomaly_rate > 1) {
            r.fail(sim,
                   "simulator needs sensors >= 1, interval_ms >= 1, floors >= 1 and 0 <= "
                   "anomaly_rate <= 1");
        }
    }

    const auto features = root["features"];
    if (!features || !features.IsSequence() || features.size() == 0) {
        r.fail(features ? features : root, "'features' must be a non-empty list of column names");
    }
    for (const auto& f : features) {
        s.features.push_back(r.get<std::string>(f, "features"));
    }
    if (const auto params = root["params"]) {
        if (!params.IsMap()) {
            r.fail(params, "'params' must be a mapping of XGBoost parameters");
        }
        for (const auto& item : params) {
            if (!item.second.IsScalar()) {
                r.fail(item.second,
                       fmt::format("XGBoost parameter '{}' must be a single value",
                                   item.first.Scalar()));
            }
            s.params.emplace_back(item.first.Scalar(), item.second.Scalar());
        }
    }
    if (const auto split = root["split"]) {
        r.only(split, {"method", "test_fraction", "seed"}, "split");
        const auto method = r.scalar(split, "method", "split", false);
        if (method == "random") {
            s.split.method = split_spec::kind::random;
        } else if (method.empty() || method == "time") {
            s.split.method = split_spec::kind::time;
        } else {
            r.fail(split["method"],
                   fmt::format("'method' must be time or random, got '{}'", method));
        }
        if (split["test_fraction"]) {
            s.split.test_fraction = r.get<double>(split["test_fraction"], "test_fraction");
            if (!(s.split.test_fraction > 0 && s.split.test_fraction < 1)) {
                r.fail(split["test_fraction"],
                       "'test_fraction' must be between 0 and 1 (exclusive)");
            }
        }
        if (split["seed"]) {
            s.split.seed = r.get<std::uint64_t>(split["seed"], "seed");
        }
    }
    const auto output = root["output"];
    if (!output) {
        r.fail(root, "'training spec' requires 'output'");
    }
    r.only(output, {"model", "card"}, "output");
    s.model_path = r.scalar(output, "model", "output", true);
    s.card_path = r.scalar(output, "card", "output", false);
    if (const auto reference = root["reference"]) {
        if (!reference.IsSequence()) {
            r.fail(reference, "'reference' must be a list of {metric, value, source}");
        }
        for (const auto& item : reference) {
            r.only(item, {"metric", "value", "source"}, "reference");
            reference_metric m;
            m.name = r.scalar(item, "metric", "reference", true);
            m.value = r.get<double>(item["value"], "value");
            m.where = r.scalar(item, "source", "reference", false);
            s.reference.push_back(std::move(m));
        }
    }
    if (const auto notes = root["notes"]) {
        if (!notes.IsSequence()) {
            r.fail(notes, "'notes' must be a list of paragraphs");
        }
        for (const auto& n : notes) {
            s.notes.push_back(r.get<std::string>(n, "notes"));
        }
    }
    return s;
}

}  // namespace sluice::ml
