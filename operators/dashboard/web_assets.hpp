#pragma once

// The pages in web/ and the charting library from npm, built into the binary (the generated
// web_assets.cpp, see embed_web_assets.cmake) so `sluice` serves its dashboard with no files
// beside it and nothing fetched at run time.

#include <span>
#include <string_view>

namespace sluice::dashboard_detail {

struct web_asset {
    std::string_view path;  ///< URL path, e.g. "/app.js"
    std::string_view bytes;
};

/// Every built-in asset.
std::span<const web_asset> web_assets() noexcept;

/// "text/html; charset=utf-8" for ".html", ... by extension; "application/octet-stream" else.
std::string_view content_type_of(std::string_view path) noexcept;

}  // namespace sluice::dashboard_detail
