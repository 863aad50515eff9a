#include "core/recording_mode.h"

namespace zaulek {

std::string_view to_string(RecordingMode mode) {
  switch (mode) {
    case RecordingMode::continuous:
      return "continuous";
    case RecordingMode::events:
      return "events";
    case RecordingMode::off:
      return "off";
  }
  return "off";
}

std::optional<RecordingMode> parse_recording_mode(std::string_view text) {
  if (text == "continuous") return RecordingMode::continuous;
  if (text == "events") return RecordingMode::events;
  if (text == "off") return RecordingMode::off;
  return std::nullopt;
}

}  // namespace zaulek
