#pragma once

// Internal to the file operators: a buffered reader of lines and RFC 4180 CSV records.

#include "file_common.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::file_detail {

/// One CSV record: its fields (quotes removed, "" undoubled), its raw text and its lines.
/// Views stay valid until the reader's next call.
class csv_record {
public:
    std::size_t size() const noexcept { return fields_.size(); }
    std::string_view field(std::size_t index) const noexcept {
        const field_ref& f = fields_[index];
        return f.quoted ? std::string_view(scratch_).substr(f.offset, f.length)
                        : raw_.substr(f.offset, f.length);
    }
    /// True if the field was quoted (a quoted empty field is an empty string, not missing).
    bool quoted(std::size_t index) const noexcept { return fields_[index].quoted; }
    /// True for a blank line.
    bool blank() const noexcept {
        return fields_.size() == 1 && !fields_[0].quoted && fields_[0].length == 0;
    }
    /// The record's text without its line break (for dead letters).
    std::string_view raw() const noexcept { return raw_; }
    /// Why the record is malformed, or empty.
    const std::string& error() const noexcept { return error_; }
    std::int64_t first_line() const noexcept { return first_line_; }
    std::int64_t last_line() const noexcept { return last_line_; }

private:
    friend class record_reader;
    struct field_ref {
        bool quoted;
        std::size_t offset;  // into scratch_ if quoted, else into raw_
        std::size_t length;
    };
    std::vector<field_ref> fields_;
    std::string scratch_;  // unquoted copies of quoted fields
    std::string_view raw_;
    std::string error_;
    std::int64_t first_line_ = 0;
    std::int64_t last_line_ = 0;
};

/// Reads a file in large chunks and cuts it into lines or CSV records. Line numbers are
/// 1-based. A UTF-8 byte order mark at the start is skipped. With `follow`, end of file is
/// "no data yet": a partial last line waits for the rest.
class record_reader {
public:
    enum class result {
        record,  ///< a line or record was read
        none,    ///< no complete line/record yet (follow mode)
        end,     ///< end of file, nothing more (not in follow mode)
    };

    record_reader(file_handle file, bool follow, std::size_t chunk_bytes = 1 << 20);

    /// The next line without its "\n" or "\r\n"; `line` is its number.
    result next_line(std::string_view& text, std::int64_t& line);
    /// The next CSV record; a malformed one is returned with its error() set.
    result next_csv(csv_record& record, char delimiter);

private:
    /// Reads more bytes; false if none are available now.
    bool fill();
    /// Bytes of the record at pos_, or npos if incomplete (only when !at_end).
    std::size_t scan_csv(csv_record& record, char delimiter, bool at_end) const;

    file_handle file_;
    bool follow_;
    std::size_t chunk_;
    std::string buffer_;
    std::size_t pos_ = 0;      // start of the unread data in buffer_
    std::size_t scanned_ = 0;  // bytes after pos_ known to hold no line break
    std::int64_t line_ = 1;    // line number at pos_
    bool started_ = false;     // the byte order mark has been checked
};

}  // namespace sluice::file_detail
