#include "csv_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sluice::file_detail {

namespace {

constexpr std::size_t npos = std::string_view::npos;

std::string_view without_line_break(std::string_view text) {
    if (!text.empty() && text.back() == '\n') {
        text.remove_suffix(1);
        if (!text.empty() && text.back() == '\r') {
            text.remove_suffix(1);
        }
    }
    return text;
}

}  // namespace

record_reader::record_reader(file_handle file, bool follow, std::size_t chunk_bytes)
    : file_(std::move(file))
    , follow_(follow)
    , chunk_(std::max<std::size_t>(chunk_bytes, 64)) {}

bool record_reader::fill() {
    if (pos_ > 0) {
        // Keep only the unread tail; views handed out before this call are invalid now.
        buffer_.erase(0, pos_);
        pos_ = 0;
    }
    const std::size_t old = buffer_.size();
    buffer_.resize(old + chunk_);
    const std::size_t got = std::fread(buffer_.data() + old, 1, chunk_, file_.get());
    buffer_.resize(old + got);
    if (got == 0) {
        // In follow mode the file may grow: clear EOF so the next fread tries again.
        std::clearerr(file_.get());
        return false;
    }
    if (!started_) {
        // Only the first bytes of the file may be a byte order mark.
        started_ = true;
        if (buffer_.size() >= 3 && buffer_.compare(0, 3, "\xEF\xBB\xBF") == 0) {
            pos_ = 3;
        }
    }
    return true;
}

record_reader::result record_reader::next_line(std::string_view& text, std::int64_t& line) {
    for (;;) {
        const std::size_t from = pos_ + scanned_;
        // find() returns npos when from is at or past the end.
        const std::size_t found = std::string_view(buffer_).find('\n', from);
        if (found != std::string_view::npos) {
            const std::size_t end = found + 1;
            text = without_line_break(std::string_view(buffer_).substr(pos_, end - pos_));
            line = line_++;
            pos_ = end;
            scanned_ = 0;
            return result::record;
        }
        scanned_ = buffer_.size() - pos_;
        if (fill()) {
            continue;
        }
        if (follow_ || pos_ == buffer_.size()) {
            return follow_ ? result::none : result::end;
        }
        // The last line has no line break.
        text = without_line_break(std::string_view(buffer_).substr(pos_));
        line = line_++;
        pos_ = buffer_.size();
        scanned_ = 0;
        return result::record;
    }
}

record_reader::result record_reader::next_csv(csv_record& record, char delimiter) {
    for (;;) {
        std::size_t length = scan_csv(record, delimiter, false);
        if (length == npos) {
            if (fill()) {
                continue;
            }
            if (follow_) {
                return result::none;
            }
            if (pos_ == buffer_.size()) {
                return result::end;
            }
            length = scan_csv(record, delimiter, true);  // the last record has no line break
        }
        const std::string_view text = std::string_view(buffer_).substr(pos_, length);
        record.raw_ = without_line_break(text);
        record.first_line_ = line_;
        const auto breaks = static_cast<std::int64_t>(std::count(text.begin(), text.end(), '\n'));
        // A record ending at end of file without a line break still occupies its last line.
        const bool ends_with_break = !text.empty() && text.back() == '\n';
        record.last_line_ = line_ + breaks - (ends_with_break ? 1 : 0);
        line_ += breaks + (ends_with_break ? 0 : 1);
        pos_ += length;
        return result::record;
    }
}

std::size_t record_reader::scan_csv(csv_record& record, char delimiter, bool at_end) const {
    record.fields_.clear();
    record.scratch_.clear();
    record.error_.clear();
    const char* data = buffer_.data() + pos_;
    const std::size_t n = buffer_.size() - pos_;
    std::size_t i = 0;
    for (;;) {
        if (i < n && data[i] == '"') {
            const std::size_t start = record.scratch_.size();
            ++i;
            for (;;) {
                const void* quote = std::memchr(data + i, '"', n - i);
                if (quote == nullptr) {
                    if (!at_end) {
                        return npos;
                    }
                    record.error_ =
                            fmt::format("unterminated quoted field {}", record.fields_.size() + 1);
                    return n;
                }
                const auto q = static_cast<std::size_t>(static_cast<const char*>(quote) - data);
                record.scratch_.append(data + i, q - i);
                if (q + 1 < n && data[q + 1] == '"') {
                    record.scratch_.push_back('"');
                    i = q + 2;
                    continue;
                }
                if (q + 1 >= n && !at_end) {
                    return npos;  // cannot tell a closing quote from the first half of ""
                }
                i = q + 1;
                break;
            }
            record.fields_.push_back({true, start, record.scratch_.size() - start});
            if (i >= n) {
                return at_end ? n : npos;
            }
            const char c = data[i];
            if (c == delimiter) {
                ++i;
                continue;
            }
            if (c == '\n') {
                return i + 1;
            }
            if (c == '\r' && i + 1 < n && data[i + 1] == '\n') {
                return i + 2;
            }
            if (c == '\r' && i + 1 >= n && !at_end) {
                return npos;
            }
            record.error_ =
                    fmt::format("unexpected character '{}' after the closing quote of field {}",
                                c == '\r' ? std::string("\\r") : std::string(1, c),
                                record.fields_.size());
            // The record still ends at the next line break.
            const void* newline = std::memchr(data + i, '\n', n - i);
            if (newline == nullptr) {
                return at_end ? n : npos;
            }
            return static_cast<std::size_t>(static_cast<const char*>(newline) - data) + 1;
        }
        // Unquoted: a quote inside is kept as is (lenient, like most CSV readers).
        std::size_t j = i;
        while (j < n && data[j] != delimiter && data[j] != '\n') {
            ++j;
        }
        if (j >= n && !at_end) {
            return npos;
        }
        std::size_t end = j;
        if (end > i && data[end - 1] == '\r' && (j >= n || data[j] == '\n')) {
            --end;
        }
        record.fields_.push_back({false, i, end - i});
        if (j >= n) {
            return n;
        }
        if (data[j] == delimiter) {
            i = j + 1;
            continue;
        }
        return j + 1;
    }
}

}  // namespace sluice::file_detail
