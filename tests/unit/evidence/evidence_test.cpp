// evidence/: the signing key file's rules, the manifest's canonical bytes and
// parser, and a package written and verified on real files (libzip, libsodium).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/text/encoding.h"
#include "evidence/package.h"

namespace zaulek::evidence {
namespace {

namespace fs = std::filesystem;

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / ("zaulek-evidence-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const fs::path& p, const std::string& data) {
    std::ofstream(p, std::ios::binary) << data;
  }
  std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  Manifest sample() {
    Manifest m;
    m.export_id = "exp-7";
    m.camera = {"cam-1",
                "Zaułek Piekarska",
                "Axis",
                "P3245",
                "ACCC8E000001",
                "hw-9",
                "http://127.0.0.1:18000/onvif/device_service"};
    m.requested = {1'765'100'000'000'000'000, 1'765'100'120'000'000'000};
    m.delivered = Interval{1'765'099'998'500'000'000, 1'765'100'120'000'000'000};
    m.gaps = {{1'765'100'030'000'000'000, 1'765'100'040'000'000'000}};
    m.segments = {{"cam-1/a.ts", 1'765'099'998'500'000'000, 1'765'100'058'500'000'000, 123,
                   std::string(64, 'a')}};
    m.exported_by = "iwona";
    m.exported_ns = 1'765'100'500'123'456'789;
    m.reason = "Sprawa 17/2026 \"rower\"\n";
    return m;
  }

  fs::path dir_;
};

TEST_F(EvidenceTest, KeyFileIsCreated0600AndReopensToTheSameKey) {
  auto file = dir_ / "signing.key";
  auto k = SigningKey::open_or_create(file);
  ASSERT_TRUE(k.ok()) << k.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  EXPECT_EQ(k->public_key().size(), kPublicKeyBytes);
  EXPECT_EQ(k->id().size(), 16u);
  EXPECT_EQ(k->id(), key_id(k->public_key()));
  auto again = SigningKey::open_or_create(file);
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->public_key(), k->public_key());
  std::string sig = again->sign("manifest bytes");
  EXPECT_EQ(sig.size(), kSignatureBytes);
  EXPECT_TRUE(verify_signature(k->public_key(), "manifest bytes", sig));
  EXPECT_FALSE(verify_signature(k->public_key(), "manifest bytez", sig));
  EXPECT_FALSE(verify_signature(SigningKey::generate().public_key(), "manifest bytes", sig));
  EXPECT_FALSE(verify_signature("short", "manifest bytes", sig));
}

TEST_F(EvidenceTest, KeyFileRulesAreTheSecretKeysRules) {
  auto file = dir_ / "signing.key";
  write(file, std::string(32, 'k'));
  ::chmod(file.c_str(), 0640);
  auto open = SigningKey::open_or_create(file);
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.error().message,
            "signing key " + file.string() + ": readable by group or others; chmod 600 it");
  ::chmod(file.c_str(), 0600);
  EXPECT_TRUE(SigningKey::open_or_create(file).ok());  // 32 bytes made by hand are a key
  write(file, std::string(33, 'k'));
  auto long_file = SigningKey::open_or_create(file);
  ASSERT_FALSE(long_file.ok());
  EXPECT_EQ(long_file.error().message,
            "signing key " + file.string() + ": must hold exactly 32 bytes (an Ed25519 seed)");
  fs::create_directory(dir_ / "ro");
  ::chmod((dir_ / "ro").c_str(), 0500);
  if (::geteuid() != 0) {  // root writes anyway
    auto ro = SigningKey::open_or_create(dir_ / "ro" / "signing.key");
    ASSERT_FALSE(ro.ok());
    EXPECT_NE(ro.error().message.find("head -c 32 /dev/urandom"), std::string::npos);
  }
  fs::create_symlink(file, dir_ / "link.key");
  EXPECT_FALSE(SigningKey::open_or_create(dir_ / "link.key").ok());
}

TEST_F(EvidenceTest, ManifestBytesAreCanonicalAndParseBack) {
  Manifest m = sample();
  m.files = {{"cam-1.mp4", 10, std::string(64, 'b')}};
  m.key_id = "0123456789abcdef";
  m.public_key = "AAAA";
  std::string bytes = to_bytes(m);
  EXPECT_EQ(bytes, to_bytes(m));
  EXPECT_EQ(bytes.back(), '\n');
  EXPECT_NE(bytes.find("\"reason\": \"Sprawa 17/2026 \\\"rower\\\"\\n\""), std::string::npos);
  EXPECT_NE(bytes.find("\"exported_at\": \"2025-12-07T09:41:40.123456789Z\""), std::string::npos);
  EXPECT_NE(bytes.find("\"name\": \"Zaułek Piekarska\""), std::string::npos);  // UTF-8 as is
  // Keys sorted: "camera" before "delivered" before "exported_at".
  EXPECT_LT(bytes.find("\"camera\""), bytes.find("\"delivered\""));
  EXPECT_LT(bytes.find("\"delivered\""), bytes.find("\"exported_at\""));
  auto back = parse(bytes);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
  m.delivered.reset();
  m.gaps.clear();
  back = parse(to_bytes(m));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
}

TEST_F(EvidenceTest, ManifestParserNamesTheBadField) {
  Manifest m = sample();
  m.files = {{"cam-1.mp4", 10, std::string(64, 'b')}};
  std::string good = to_bytes(m);
  auto err = [&](std::string from, const std::string& to) {
    auto at = good.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    std::string bad = good;
    bad.replace(at, from.size(), to);
    auto r = parse(bad);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err("zaulek-evidence/1", "zaulek-evidence/2"),
            "manifest: format is zaulek-evidence/2, not zaulek-evidence/1");
  EXPECT_EQ(err("\"cam-1.mp4\"", "\"../x.mp4\""),
            "manifest: files[0].name is not a plain file name");
  EXPECT_EQ(err("\"cam-1.mp4\"", "\"manifest.sig\""),
            "manifest: files[0].name is not a plain file name");
  EXPECT_EQ(err(std::string(64, 'b'), std::string(64, 'B')),
            "manifest: files[0].sha256 must be 64 lowercase hex digits");
  EXPECT_EQ(err("\"bytes\": 123", "\"bytes\": \"123\""),
            "manifest: segments[0].bytes must be an integer");
  EXPECT_EQ(err("\"exported_at\": \"2025", "\"exported_at\": \"x2025"),
            "manifest: exported_at must be an RFC 3339 time");
  EXPECT_EQ(parse("[1]").error().message, "manifest:  is not a JSON object");
  EXPECT_EQ(parse("{").error().message, "manifest:  is not a JSON object");
}

TEST_F(EvidenceTest, PackageRoundTripAndEveryChangeIsNamed) {
  auto key = SigningKey::generate();
  std::string media(3 << 20, '\0');  // 3 MiB: more than one read block
  std::mt19937 rng(7);
  for (char& c : media) c = static_cast<char>(rng());
  write(dir_ / "in.mp4", media);
  auto zip = dir_ / "out.zip";
  auto written = write_package(zip, sample(), dir_ / "in.mp4", "cam-1_20251207.mp4", key);
  ASSERT_TRUE(written.ok()) << written.error().message;
  ASSERT_EQ(written->files.size(), 2u);
  EXPECT_EQ(written->files[0].name, "cam-1_20251207.mp4");
  EXPECT_EQ(written->files[0].bytes, static_cast<std::int64_t>(media.size()));
  EXPECT_EQ(written->files[0].sha256, *sha256_file(dir_ / "in.mp4"));
  EXPECT_EQ(written->files[1].name, "VERIFY.txt");
  EXPECT_EQ(written->key_id, key.id());

  auto v = verify_package(zip, key.public_key());
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  ASSERT_TRUE(v.manifest);
  EXPECT_EQ(*v.manifest, *written);
  EXPECT_FALSE(v.key_from_manifest);
  auto own = verify_package(zip, std::nullopt);
  EXPECT_TRUE(own.ok());
  EXPECT_TRUE(own.key_from_manifest);
  EXPECT_EQ(own.key_id, key.id());

  // Another key: the package is not the server's.
  auto other = SigningKey::generate();
  auto foreign = verify_package(zip, other.public_key());
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.problems[0], "manifest.json: signed, it says, by key " + key.id() +
                                     ", not by the given key " + other.id());

  // A changed byte in the stored MP4 (inside the ZIP): its CRC or hash names it.
  std::string raw = read(zip);
  auto at = raw.find(media.substr(1 << 20, 64));
  ASSERT_NE(at, std::string::npos);
  raw[at + 10] = static_cast<char>(raw[at + 10] ^ 0x40);
  write(dir_ / "bad.zip", raw);
  auto bad = verify_package(dir_ / "bad.zip", key.public_key());
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_EQ(bad.problems[0].rfind("cam-1_20251207.mp4: ", 0), 0u) << bad.problems[0];

  EXPECT_FALSE(write_package(dir_ / "x.zip", sample(), dir_ / "in.mp4", "a/b.mp4", key).ok());
  EXPECT_FALSE(write_package(dir_ / "x.zip", sample(), dir_ / "none.mp4", "b.mp4", key).ok());
  EXPECT_FALSE(fs::exists(dir_ / "x.zip"));
}

// The export's way: the media streamed in pieces as it is made, hashed on
// the writer's thread; the same package as from a file, and checked by the
// same reader (libzip with its consistency checks).
TEST_F(EvidenceTest, PackageWriterStreamsTheMediaInOnePass) {
  auto key = SigningKey::generate();
  std::string media(5 << 20, '\0');
  std::mt19937 rng(11);
  for (char& c : media) c = static_cast<char>(rng());
  auto zip = dir_ / "streamed.zip";
  auto w = PackageWriter::create(zip, "exp-1.mp4");
  ASSERT_TRUE(w.ok()) << w.error().message;
  // Pieces of every size the MP4 writer hands over: a header, whole boxes, a moov.
  std::size_t at = 0;
  for (std::size_t piece :
       {std::size_t{40}, std::size_t{1}, std::size_t{3 << 20}, std::size_t{8191}, std::size_t{0}}) {
    piece = std::min(piece, media.size() - at);
    ASSERT_TRUE((*w)->write({reinterpret_cast<const std::uint8_t*>(media.data()) + at, piece}));
    at += piece;
  }
  ASSERT_TRUE(
      (*w)->write({reinterpret_cast<const std::uint8_t*>(media.data()) + at, media.size() - at}));
  auto written = (*w)->finish(sample(), key);
  ASSERT_TRUE(written.ok()) << written.error().message;
  write(dir_ / "in.mp4", media);
  EXPECT_EQ(written->files[0].sha256, *sha256_file(dir_ / "in.mp4"));
  EXPECT_EQ(written->files[0].bytes, static_cast<std::int64_t>(media.size()));
  auto v = verify_package(zip, key.public_key());
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  ASSERT_TRUE(v.manifest);
  EXPECT_EQ(*v.manifest, *written);

  // The media's local header: stored, its CRC-32 and sizes filled in after
  // the bytes, the room kept for ZIP64 sizes a padding field readers skip.
  std::string raw = read(zip);
  ASSERT_GT(raw.size(), 50u + media.size());
  auto u16 = [&](std::size_t i) {
    return static_cast<unsigned>(static_cast<std::uint8_t>(raw[i])) |
           static_cast<unsigned>(static_cast<std::uint8_t>(raw[i + 1])) << 8;
  };
  auto u32 = [&](std::size_t i) { return u16(i) | u16(i + 2) << 16; };
  EXPECT_EQ(u32(0), 0x04034b50u);
  EXPECT_EQ(u16(8), 0u);  // stored
  EXPECT_EQ(u32(18), media.size());
  EXPECT_EQ(u32(22), media.size());
  const std::size_t name_len = u16(26), extra_len = u16(28);
  EXPECT_EQ(raw.substr(30, name_len), "exp-1.mp4");
  EXPECT_EQ(extra_len, 20u);
  EXPECT_EQ(u16(30 + name_len), 0xd935u);
  EXPECT_EQ(raw.substr(30 + name_len + extra_len, media.size()), media);

  // Never over an existing file; a bad name refused before anything is made.
  EXPECT_EQ(PackageWriter::create(zip, "exp-1.mp4").error().kind, ErrorKind::unavailable);
  EXPECT_FALSE(PackageWriter::create(dir_ / "y.zip", "manifest.json").ok());
  EXPECT_FALSE(fs::exists(dir_ / "y.zip"));
  // Abandoned unfinished: the file stays for the caller to remove, no thread left behind.
  {
    auto half = PackageWriter::create(dir_ / "half.zip", "exp-2.mp4");
    ASSERT_TRUE(half.ok());
    ASSERT_TRUE((*half)->write({reinterpret_cast<const std::uint8_t*>(media.data()), 1000}));
  }
  EXPECT_TRUE(fs::exists(dir_ / "half.zip"));
}

}  // namespace
}  // namespace zaulek::evidence
