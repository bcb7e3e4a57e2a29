// Builds a pipeline in code, no YAML: simulator -> json_decode -> filter -> count.
//
//   embed_pipeline [RECORDS]
//
// Prints how many readings were hot, and exits 0 if every record was accounted for.
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

// A sink of our own: counts rows. Sinks run serially unless they say otherwise.
class counting_sink final : public sluice::sink {
public:
    void bind(const sluice::schema_ptr& input, sluice::bind_context& ctx) override {
        if (!input->index_of("temperature")) {
            ctx.error("", "schema-mismatch", "needs a 'temperature' column");
        }
    }
    void consume(const sluice::batch& input, sluice::operator_context&) override { rows += input.num_rows(); }
    std::size_t rows = 0;
};

// Creates a registered operator from option values written as YAML text.
template <typename Operator>
std::unique_ptr<Operator> make(sluice::operator_role role,
                               const std::string& type,
                               const std::string& id,
                               const std::vector<std::pair<std::string, std::string>>& values) {
    const auto* descriptor = sluice::operator_registry::global().find(role, type);
    sluice::build_context build{"embedded"};
    const auto opts = sluice::options::from_values(descriptor->spec, type, id, values);
    if constexpr (std::is_same_v<Operator, sluice::source>) {
        return descriptor->make_source(opts, build);
    } else {
        return descriptor->make_transform(opts, build);
    }
}

}  // namespace

int main(int argc, char** argv) {
    const std::string records = argc > 1 ? argv[1] : "100000";
    sluice::register_builtin_operators();
    try {
        sluice::pipeline p("embedded");
        p.add_source({"fleet", "generator", {}, {}},
                     make<sluice::source>(sluice::operator_role::source, "generator", "fleet",
                                          {{"count", records}, {"sensors", "50"}, {"rate", "0"}, {"emit", "json"}}));
        p.add_transform({"parsed", "json_decode", {"fleet"}, {}},
                        make<sluice::transform>(sluice::operator_role::transform, "json_decode", "parsed",
                                                {{"schema", "{sensor_id: string, temperature: float64, humidity: float64}"}}));
        p.add_transform({"hot", "filter", {"parsed"}, {}},
                        make<sluice::transform>(sluice::operator_role::transform, "filter", "hot",
                                                {{"condition", "temperature > 25"}}));
        auto all = std::make_unique<counting_sink>();
        auto hot = std::make_unique<counting_sink>();
        auto* all_rows = all.get();
        auto* hot_rows = hot.get();
        p.add_sink({"all", "counting", {"parsed"}, {}}, std::move(all));
        p.add_sink({"hot_count", "counting", {"hot"}, {}}, std::move(hot));

        const auto summary = p.run();
        std::printf("read %llu readings, %zu decoded, %zu hot, %llu rejected\n",
                    static_cast<unsigned long long>(summary.records_read), all_rows->rows, hot_rows->rows,
                    static_cast<unsigned long long>(summary.records_rejected));
        return summary.records_read == all_rows->rows + summary.records_rejected ? EXIT_SUCCESS : EXIT_FAILURE;
    } catch (const sluice::config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
