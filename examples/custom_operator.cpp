// Adds an operator of our own ("celsius_to_kelvin") to the registry and uses it from YAML.
//
//   custom_operator PIPELINE.yaml      (a YAML that uses `type: celsius_to_kelvin`)
//   custom_operator                    (uses the pipeline embedded below)
#include <sluice/sluice.hpp>

#include <cstdio>
#include <cstdlib>

namespace {

/// Adds a `<column>_k` column = column + 273.15. Stateless, so it may run in parallel.
class celsius_to_kelvin final : public sluice::transform {
public:
    explicit celsius_to_kelvin(std::string column)
        : column_(std::move(column)) {}

    sluice::schema_ptr bind(const sluice::schema_ptr& input, sluice::bind_context& ctx) override {
        const auto index = input->index_of(column_);
        if (!index || input->at(*index).type != sluice::data_type::float64) {
            ctx.error("column",
                      "schema-mismatch",
                      "expected a float64 column '" + column_ + "'; the input has " +
                              input->to_string());
            return nullptr;
        }
        index_ = *index;
        auto fields = input->fields();
        fields.push_back({column_ + "_k", sluice::data_type::float64});
        return sluice::make_schema(std::move(fields));
    }

    sluice::batch process(const sluice::batch& input, sluice::operator_context&) override {
        const auto& celsius = input.column_at(index_);
        auto kelvin = std::make_shared<sluice::column>(sluice::data_type::float64);
        kelvin->reserve(celsius.size());
        for (std::size_t i = 0; i < celsius.size(); ++i) {
            if (celsius.is_valid(i)) {
                kelvin->push_float64(celsius.float64_values()[i] + 273.15);
            } else {
                kelvin->push_null();
            }
        }
        return input.with_column({column_ + "_k", sluice::data_type::float64}, kelvin);
    }

private:
    std::string column_;
    std::size_t index_ = 0;
};

constexpr const char* embedded_pipeline = R"(
name: kelvin
sources:
  fleet: {type: generator, count: 20000, sensors: 10, rate: 0, emit: columns}
transforms:
  kelvin: {type: celsius_to_kelvin, inputs: [fleet], column: temperature}
  impossible: {type: filter, inputs: [kelvin], condition: "temperature_k < 0"}
sinks:
  out: {type: blackhole, inputs: [impossible]}
)";

}  // namespace

int main(int argc, char** argv) {
    sluice::register_builtin_operators();
    sluice::operator_registry::global().add_transform(
            "celsius_to_kelvin",
            "adds <column>_k, the column converted from Celsius to Kelvin",
            [](sluice::option_spec& spec) {
                spec.field("column", sluice::option_kind::string)
                        .defaults("temperature")
                        .describe("a float64 column in °C");
            },
            [](const sluice::options& opts, sluice::build_context&) {
                return std::make_unique<celsius_to_kelvin>(opts.get_string("column"));
            });
    try {
        auto p = argc > 1 ? sluice::load_pipeline(argv[1])
                          : sluice::load_pipeline_from_string(embedded_pipeline, "embedded.yaml");
        const auto summary = p->run();
        std::printf("converted %llu readings; none below absolute zero: %s\n",
                    static_cast<unsigned long long>(summary.records_read),
                    summary.records_written == 0 ? "yes" : "no");
        return summary.records_written == 0 && summary.records_read == 20000 ? EXIT_SUCCESS
                                                                             : EXIT_FAILURE;
    } catch (const sluice::config_error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 2;
    }
}
