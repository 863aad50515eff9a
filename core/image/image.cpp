#include "core/image/image.h"

#include <string>

namespace zaulek {
namespace {

const std::string_view kPngSignature("\x89PNG\r\n\x1a\n", 8);

std::uint32_t be32(std::string_view b, std::size_t at) {
  auto u = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(b[i]));
  };
  return u(at) << 24 | u(at + 1) << 16 | u(at + 2) << 8 | u(at + 3);
}

unsigned be16(std::string_view b, std::size_t at) {
  auto u = [&](std::size_t i) { return static_cast<unsigned>(static_cast<unsigned char>(b[i])); };
  return u(at) << 8 | u(at + 1);
}

unsigned byte(std::string_view b, std::size_t at) {
  return static_cast<unsigned char>(b[at]);
}

Error bad(std::string message) {
  return make_error(ErrorKind::invalid_argument, std::move(message));
}

// A chunk type is four ASCII letters.
bool chunk_type_ok(std::string_view type) {
  for (char c : type)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return false;
  return true;
}

Result<ImageInfo> inspect_png(std::string_view b) {
  std::size_t pos = kPngSignature.size();
  bool header = false, data = false;
  ImageInfo info{ImageType::png, 0, 0};
  while (true) {
    if (b.size() - pos < 12) return bad("PNG is truncated (no IEND chunk)");
    const std::uint32_t len = be32(b, pos);
    const std::string_view type = b.substr(pos + 4, 4);
    if (!chunk_type_ok(type))
      return bad("PNG has a malformed chunk at byte " + std::to_string(pos));
    const std::string name(type);
    if (len > 0x7fffffffu) return bad("PNG chunk " + name + " has an impossible length");
    if (b.size() - pos - 12 < len) return bad("PNG is truncated in chunk " + name);
    const std::size_t body = pos + 8;
    if (!header) {
      if (type != "IHDR" || len != 13) return bad("PNG does not start with its IHDR chunk");
      const std::uint32_t w = be32(b, body), h = be32(b, body + 4);
      const unsigned depth = byte(b, body + 8), color = byte(b, body + 9);
      if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
        return bad("PNG header has an impossible size");
      const bool depth_ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
      const bool color_ok = color == 0 || color == 2 || color == 3 || color == 4 || color == 6;
      if (!depth_ok || !color_ok || byte(b, body + 10) != 0 || byte(b, body + 11) != 0 ||
          byte(b, body + 12) > 1)
        return bad("PNG header has an unknown bit depth, colour type or method");
      info.width = static_cast<int>(w);
      info.height = static_cast<int>(h);
      header = true;
    } else if (type == "IHDR") {
      return bad("PNG has a second IHDR chunk");
    } else if (type == "IDAT") {
      data = true;
    } else if (type == "IEND") {
      if (!data) return bad("PNG has no image data (IDAT)");
      if (pos + 12 != b.size()) return bad("PNG has data after its IEND chunk");
      return info;
    }
    pos += 12 + len;
  }
}

bool frame_marker(unsigned m) {
  // SOF0..SOF15 but DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

Result<ImageInfo> inspect_jpeg(std::string_view b) {
  std::size_t pos = 2;  // after SOI
  ImageInfo info{ImageType::jpeg, 0, 0};
  bool frame = false;
  while (true) {
    if (pos >= b.size()) return bad("JPEG is truncated before its scan");
    if (byte(b, pos) != 0xFF)
      return bad("JPEG has stray bytes between segments at byte " + std::to_string(pos));
    while (pos < b.size() && byte(b, pos) == 0xFF) ++pos;  // fill bytes
    if (pos >= b.size()) return bad("JPEG is truncated before its scan");
    const unsigned m = byte(b, pos++);
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length
    if (m == 0x00 || m == 0xD8)
      return bad("JPEG has a misplaced marker at byte " + std::to_string(pos - 1));
    if (m == 0xD9) return bad("JPEG ends before its scan");
    if (b.size() - pos < 2) return bad("JPEG is truncated in a segment header");
    const unsigned len = be16(b, pos);
    if (len < 2) return bad("JPEG segment has an impossible length");
    if (b.size() - pos < len) return bad("JPEG is truncated in a segment");
    if (frame_marker(m)) {
      if (frame) return bad("JPEG has a second frame header");
      if (len < 8) return bad("JPEG frame header is too short");
      info.height = static_cast<int>(be16(b, pos + 3));
      info.width = static_cast<int>(be16(b, pos + 5));
      const unsigned components = byte(b, pos + 7);
      if (info.width == 0 || info.height == 0)
        return bad("JPEG frame header has no size (height given later is not supported)");
      if (components < 1 || components > 4 || len < 8 + 3 * components)
        return bad("JPEG frame header has a wrong component count");
      frame = true;
    } else if (m == 0xDA) {
      if (!frame) return bad("JPEG has no frame header before its scan");
      // The entropy-coded data is not walked: a whole file ends with EOI.
      const std::size_t after = pos + len;
      if (b.size() - after < 2 || byte(b, b.size() - 2) != 0xFF || byte(b, b.size() - 1) != 0xD9)
        return bad("JPEG is truncated (no end-of-image marker at its end)");
      return info;
    }
    pos += len;
  }
}

}  // namespace

std::string_view content_type(ImageType type) {
  return type == ImageType::png ? "image/png" : "image/jpeg";
}

Result<ImageInfo> inspect_image(std::string_view bytes, const ImageLimits& limits) {
  Result<ImageInfo> info = bad("not a PNG or JPEG file");
  if (bytes.size() >= kPngSignature.size() &&
      bytes.substr(0, kPngSignature.size()) == kPngSignature)
    info = inspect_png(bytes);
  else if (bytes.size() >= 3 && byte(bytes, 0) == 0xFF && byte(bytes, 1) == 0xD8 &&
           byte(bytes, 2) == 0xFF)
    info = inspect_jpeg(bytes);
  if (!info) return info;
  const std::int64_t w = info->width, h = info->height;
  if (w <= 0 || h <= 0) return bad("image has no size");
  if (w > limits.max_side || h > limits.max_side || w * h > limits.max_pixels)
    return bad("image is " + std::to_string(w) + "x" + std::to_string(h) + " pixels; at most " +
               std::to_string(limits.max_side) + " per side and " +
               std::to_string(limits.max_pixels / 1'000'000) + " megapixels");
  return info;
}

}  // namespace zaulek
