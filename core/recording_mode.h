// How a camera records: the catalogue stores it, the recorder obeys it.
#pragma once

#include <optional>
#include <string_view>

namespace zaulek {

// continuous: always; events: only around events, with a pre-buffer in
// memory; off: connect (for live view) but write nothing.
enum class RecordingMode { continuous, events, off };

// "continuous", "events", "off"; parse gives nullopt for anything else.
std::string_view to_string(RecordingMode mode);
std::optional<RecordingMode> parse_recording_mode(std::string_view text);

}  // namespace zaulek
