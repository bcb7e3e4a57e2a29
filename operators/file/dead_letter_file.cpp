#include "file_common.hpp"

#include <sluice/ops/file.hpp>

#include <fmt/format.h>

#include <chrono>
#include <mutex>

namespace sluice {

namespace {

/// Appends rejected records to a file as NDJSON, one write and flush per record under a mutex:
/// records are rare, and each must reach the OS before the batch it came from is acknowledged.
class dead_letter_file final : public dead_letter_writer {
public:
    explicit dead_letter_file(std::string path)
        : path_(std::move(path)) {
        std::string error;
        file_ = file_detail::open_output(path_, /*append=*/true, error);
        if (!file_) {
            throw operator_error("dead_letter_file", path_, error);
        }
    }

    void write(const dead_letter_record& record) override {
        const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
        std::lock_guard lock(mutex_);
        line_.clear();
        line_.append(R"({"time":)");
        append_json_int(line_, now);
        line_.append(R"(,"operator_type":)");
        append_json_string_lossy(line_, record.operator_type);
        line_.append(R"(,"operator_id":)");
        append_json_string_lossy(line_, record.operator_id);
        line_.append(R"(,"reason":)");
        append_json_string_lossy(line_, record.reason);
        line_.append(R"(,"payload":)");
        if (record.payload_is_json && !record.payload.empty()) {
            // Trusted to be one JSON value by the operator that rejected it (e.g. a row it
            // formatted with row_json); a raw line break would split the NDJSON record.
            for (const char c : record.payload) {
                line_.push_back(c == '\n' || c == '\r' ? ' ' : c);
            }
        } else {
            append_json_string_lossy(line_, record.payload);
        }
        line_.append(R"(,"positions":[)");
        for (std::size_t i = 0; i < record.positions.size(); ++i) {
            const source_position& p = record.positions[i];
            if (i != 0) {
                line_.push_back(',');
            }
            line_.append(R"({"partition":)");
            append_json_int(line_, p.partition);
            line_.append(R"(,"first":)");
            append_json_int(line_, p.first);
            line_.append(R"(,"last":)");
            append_json_int(line_, p.last);
            line_.push_back('}');
        }
        line_.append("]}\n");
        if (!file_) {
            throw operator_error("dead_letter_file", path_, "written to after finish()");
        }
        std::string error;
        if (!file_detail::write_and_flush(file_.get(), line_, error)) {
            throw operator_error(
                    "dead_letter_file", path_, fmt::format("cannot write '{}': {}", path_, error));
        }
    }

    void finish() override {
        std::lock_guard lock(mutex_);
        file_.reset();
    }

private:
    std::string path_;
    std::mutex mutex_;
    file_detail::file_handle file_;
    std::string line_;  // reused under the mutex
};

}  // namespace

std::unique_ptr<dead_letter_writer> make_dead_letter_file(const std::string& path) {
    return std::make_unique<dead_letter_file>(path);
}

}  // namespace sluice
