#include "evidence/package.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "core/text/encoding.h"

namespace zaulek::evidence {
namespace {

constexpr std::size_t kBlock = 1 << 20;
constexpr std::int64_t kMaxManifestBytes = 64 << 20;

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data.data(), data.size());
  return h.hex();
}

// One member of a package, read in blocks: `sink` sees every block; a read
// error (a ZIP's CRC check included) is returned as text.
using Sink = std::function<void(const char*, std::size_t)>;
struct Member {
  std::int64_t bytes = 0;
  std::function<std::optional<std::string>(const Sink&)> read;
};

struct ZipCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};

}  // namespace

Result<std::string> sha256_file(const std::filesystem::path& file, std::int64_t* bytes,
                                std::uint64_t limit) {
  if (sodium_init() < 0) return make_error(ErrorKind::internal, "libsodium failed to initialise");
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(ErrorKind::not_found, "cannot open " + file.string());
  Sha256 h;
  std::string buf(kBlock, '\0');
  std::int64_t total = 0;
  while (in && (limit == 0 || static_cast<std::uint64_t>(total) < limit)) {
    std::size_t want = buf.size();
    if (limit > 0) want = std::min<std::uint64_t>(want, limit - static_cast<std::uint64_t>(total));
    in.read(buf.data(), static_cast<std::streamsize>(want));
    auto n = static_cast<std::size_t>(in.gcount());
    h.update(buf.data(), n);
    total += static_cast<std::int64_t>(n);
  }
  if (in.bad()) return make_error(ErrorKind::unavailable, "cannot read " + file.string());
  if (bytes) *bytes = total;
  return h.hex();
}

std::string verify_text() {
  return R"(Zaułek — pakiet dowodowy / evidence package
=============================================

PL: Jak sprawdzić ten pakiet
  1. zaulek-verify PAKIET.zip --key KLUCZ_PUBLICZNY
     KLUCZ_PUBLICZNY to klucz serwera z GET /api/v1/keys (Base64 albo plik),
     otrzymany od administratora innym kanałem niż ten pakiet. Wynik 0: podpis
     i wszystkie skróty SHA-256 się zgadzają; 1: program wymienia plik, który
     się nie zgadza. Bez --key program użyje klucza zapisanego w manifeście:
     to dowodzi, że pakiet nie został zmieniony, ale nie tego, kto go wystawił.
  2. Bez programu Zaułek: manifest.sig to podpis Ed25519 (64 bajty) dokładnie
     bajtów pliku manifest.json. Skróty SHA-256 plików (sha256sum) muszą być
     równe polom "files[].sha256" w manifeście.

EN: How to verify this package
  1. zaulek-verify PACKAGE.zip --key PUBLIC_KEY
     PUBLIC_KEY is the server's key from GET /api/v1/keys (Base64 or a file),
     obtained from the administrator by another channel than this package.
     Exit 0: the signature and every SHA-256 match; 1: it names the file that
     does not. Without --key it uses the key written in the manifest: that
     proves the package was not changed, not who issued it.
  2. Without Zaułek's tool: manifest.sig is an Ed25519 signature (64 bytes)
     over the exact bytes of manifest.json. The SHA-256 of each file
     (sha256sum) must equal its "files[].sha256" in the manifest. In Python:
       from nacl.signing import VerifyKey; import base64
       VerifyKey(base64.b64decode(KEY)).verify(open("manifest.json","rb").read(),
                                               open("manifest.sig","rb").read())
)";
}

// --- Sha256 -----------------------------------------------------------------

// OpenSSL's libcrypto: with the CPU's SHA extensions 3.5x libsodium's
// portable C here (1.6 GB/s against 0.46 GB/s, docs/design/export.md); an
// export hashes its sources and its MP4.
struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("OpenSSL SHA-256 unavailable");
}
Sha256::~Sha256() = default;
void Sha256::update(const void* data, std::size_t n) {
  EVP_DigestUpdate(ctx_->md, data, n);
}
std::string Sha256::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_->md, out, &len);
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
}

// --- PackageWriter ----------------------------------------------------------

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kEnd64Sig = 0x06064b50;
constexpr std::uint32_t kLocator64Sig = 0x07064b50;
constexpr std::uint64_t kMax32 = 0xffffffffu;
constexpr std::uint16_t kZip64Id = 0x0001;
// The media's local header reserves room for a ZIP64 extra (sizes not known
// when it is written); when the sizes fit 32 bits the room is a padding
// field of this id (Android's zipalign's), which readers skip as they skip
// every id they do not know.
constexpr std::uint16_t kPaddingId = 0xd935;
constexpr std::uint16_t kReservedExtra = 20;
constexpr std::uint16_t kMadeBy = (3 << 8) | 45;  // Unix, ZIP 4.5
// The package is written in blocks of this size (O_DIRECT: aligned to
// kAlign in memory, in the file and in length), at most kBlocks at a time.
constexpr std::size_t kAlign = 4096;
constexpr std::size_t kBlockBytes = 8u << 20;
constexpr int kBlocks = 6;
// Writeback is started every so many bytes, so the final fdatasync waits
// for the tail only.
constexpr std::int64_t kWritebackEvery = 32 << 20;

Error io_error(int err, const std::string& what) {
  return make_error(
      err == ENOSPC || err == EDQUOT ? ErrorKind::resource_exhausted : ErrorKind::unavailable,
      what + ": " + std::strerror(err));
}

void le(std::string& out, std::uint64_t v, int n) {
  for (int i = 0; i < n; ++i, v >>= 8) out.push_back(static_cast<char>(v & 0xff));
}

struct DosTime {
  std::uint16_t time = 0, date = (1 << 5) | 1;  // 1980-01-01
};
DosTime dos_time(std::int64_t unix_ns) {
  const auto t = static_cast<time_t>(unix_ns / 1'000'000'000);
  struct tm tm {};
  DosTime d;
  if (!gmtime_r(&t, &tm) || tm.tm_year < 80) return d;
  d.time = static_cast<std::uint16_t>((tm.tm_hour << 11) | (tm.tm_min << 5) | (tm.tm_sec / 2));
  d.date =
      static_cast<std::uint16_t>(((tm.tm_year - 80) << 9) | ((tm.tm_mon + 1) << 5) | tm.tm_mday);
  return d;
}

struct Entry {
  std::string name;
  std::uint64_t offset = 0;  // of its local header
  std::uint64_t size = 0;
  std::uint32_t crc = 0;
  bool zip64_local = false;  // its local header carries ZIP64 sizes
};

std::string local_header(const Entry& e, DosTime t, bool reserve) {
  const bool z64 = e.zip64_local;
  std::string h;
  le(h, kLocalSig, 4);
  le(h, z64 ? 45 : 20, 2);
  le(h, 0, 2);  // flags: sizes and CRC in this header
  le(h, 0, 2);  // stored
  le(h, t.time, 2);
  le(h, t.date, 2);
  le(h, e.crc, 4);
  le(h, z64 ? kMax32 : e.size, 4);
  le(h, z64 ? kMax32 : e.size, 4);
  le(h, e.name.size(), 2);
  le(h, reserve ? kReservedExtra : 0, 2);
  h += e.name;
  if (reserve) {
    le(h, z64 ? kZip64Id : kPaddingId, 2);
    le(h, 16, 2);
    le(h, z64 ? e.size : 0, 8);
    le(h, z64 ? e.size : 0, 8);
  }
  return h;
}

std::string central_header(const Entry& e, DosTime t) {
  const bool big_size = e.size >= kMax32, big_offset = e.offset >= kMax32;
  std::string extra;
  if (big_size || big_offset) {
    std::string body;
    if (big_size) {
      le(body, e.size, 8);
      le(body, e.size, 8);
    }
    if (big_offset) le(body, e.offset, 8);
    le(extra, kZip64Id, 2);
    le(extra, body.size(), 2);
    extra += body;
  }
  std::string h;
  le(h, kCentralSig, 4);
  le(h, kMadeBy, 2);
  le(h, e.zip64_local || !extra.empty() ? 45 : 20, 2);
  le(h, 0, 2);
  le(h, 0, 2);
  le(h, t.time, 2);
  le(h, t.date, 2);
  le(h, e.crc, 4);
  le(h, big_size ? kMax32 : e.size, 4);
  le(h, big_size ? kMax32 : e.size, 4);
  le(h, e.name.size(), 2);
  le(h, extra.size(), 2);
  le(h, 0, 2);  // comment
  le(h, 0, 2);  // disk
  le(h, 0, 2);  // internal attributes
  le(h, std::uint64_t{0100644} << 16, 4);
  le(h, big_offset ? kMax32 : e.offset, 4);
  h += e.name;
  h += extra;
  return h;
}

}  // namespace

struct PackageWriter::Impl {
  // The file is written in blocks of the file's own bytes (the first starts
  // with the local header), aligned for O_DIRECT: the MP4 is not read back,
  // so copying 1.8 GB into the page cache (measured: most of the job's CPU
  // time on this VM) buys nothing. Where the file system refuses O_DIRECT
  // (tmpfs) it is written through the page cache.
  struct Block {
    struct Free {
      void operator()(std::uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<std::uint8_t, Free> data{
        static_cast<std::uint8_t*>(std::aligned_alloc(kAlign, kBlockBytes))};
    std::size_t used = 0;
    std::uint64_t file_at = 0;  // of its first byte
  };

  std::filesystem::path path;
  int fd = -1;
  bool direct = false;
  Entry media;
  std::uint64_t data_at = 0;  // the media's first byte

  // The caller's: the block being filled and where the next byte goes.
  std::unique_ptr<Block> current;
  std::uint64_t end = 0;

  // Blocks on their way: to the hashing thread, then to the writing thread
  // (an O_DIRECT write waits for the device: apart, the disk's time and the
  // hashing overlap); and blocks to reuse (at most kBlocks exist: a fresh
  // allocation would cost its page faults each time).
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<Block>> to_hash, to_write;
  std::vector<std::unique_ptr<Block>> spare;
  int blocks = 0;
  bool closing = false;     // nothing more to hash once to_hash is empty
  bool all_hashed = false;  // nothing more to write once to_write is empty
  std::optional<Error> err;
  std::thread hasher, writer;

  // The hashing thread's own.
  Sha256 sha;
  uLong crc = crc32(0L, Z_NULL, 0);
  // The writing thread's own.
  std::uint64_t writeback_from = 0;

  ~Impl() {
    stop();
    if (fd >= 0) ::close(fd);
  }

  void stop() {
    {
      std::lock_guard lock(mu);
      closing = true;
    }
    cv.notify_all();
    if (hasher.joinable()) hasher.join();
    if (writer.joinable()) writer.join();
  }

  Status buffered() {
    if (!direct) return {};
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags & ~O_DIRECT) != 0)
      return io_error(errno, "writing " + path.string());
    direct = false;
    return {};
  }

  Status pwrite_all(const std::uint8_t* p, std::size_t n, std::uint64_t at) {
    while (n > 0) {
      ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(at));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EINVAL && direct) {
        // An alignment this device does not take: through the page cache.
        if (auto st = buffered(); !st) return st;
        continue;
      }
      if (w <= 0) return io_error(w < 0 ? errno : EIO, "writing " + path.string());
      p += w;
      n -= static_cast<std::size_t>(w);
      at += static_cast<std::uint64_t>(w);
    }
    return {};
  }

  void hash(const Block& b) {
    // The media's bytes in it (the first block starts with the header).
    const std::uint64_t skip =
        b.file_at < data_at ? std::min<std::uint64_t>(data_at - b.file_at, b.used) : 0;
    sha.update(b.data.get() + skip, b.used - skip);
    crc = crc32_z(crc, b.data.get() + skip, b.used - skip);
  }

  Status put(const Block& b) {
    // Only whole blocks go direct; the last one through the page cache.
    if (b.used != kBlockBytes)
      if (auto st = buffered(); !st) return st;
    if (auto st = pwrite_all(b.data.get(), b.used, b.file_at); !st) return st;
    const std::uint64_t to = b.file_at + b.used;
    if (!direct && to - writeback_from >= static_cast<std::uint64_t>(kWritebackEvery)) {
      // Start writing back what is there; the final fdatasync then waits
      // for the last blocks only.
      ::sync_file_range(fd, static_cast<off_t>(writeback_from),
                        static_cast<off_t>(to - writeback_from), SYNC_FILE_RANGE_WRITE);
      writeback_from = to;
    }
    return {};
  }

  void hash_run() {
    for (;;) {
      std::unique_ptr<Block> block;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !to_hash.empty() || closing; });
        if (to_hash.empty()) {
          all_hashed = true;
          break;
        }
        block = std::move(to_hash.front());
        to_hash.pop_front();
      }
      hash(*block);
      {
        std::lock_guard lock(mu);
        to_write.push_back(std::move(block));
      }
      cv.notify_all();
    }
    cv.notify_all();
  }

  void write_run() {
    for (;;) {
      std::unique_ptr<Block> block;
      bool failed = false;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !to_write.empty() || all_hashed; });
        if (to_write.empty()) return;
        block = std::move(to_write.front());
        to_write.pop_front();
        failed = err.has_value();
      }
      Status st;
      if (!failed) st = put(*block);
      {
        std::lock_guard lock(mu);
        if (!st && !err) err = st.error();
        spare.push_back(std::move(block));
      }
      cv.notify_all();
    }
  }

  // A block to fill (waits while kBlocks are on their way).
  Result<std::unique_ptr<Block>> take() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return err || !spare.empty() || blocks < kBlocks; });
    if (err) return *err;
    std::unique_ptr<Block> b;
    if (!spare.empty()) {
      b = std::move(spare.back());
      spare.pop_back();
    } else {
      b = std::make_unique<Block>();
      if (!b->data) return make_error(ErrorKind::resource_exhausted, "package: out of memory");
      ++blocks;
    }
    b->used = 0;
    b->file_at = end;
    return b;
  }

  void send(std::unique_ptr<Block> b) {
    {
      std::lock_guard lock(mu);
      to_hash.push_back(std::move(b));
    }
    cv.notify_all();
  }

  Status append(const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      if (!current) {
        auto b = take();
        if (!b) return b.error();
        current = std::move(*b);
      }
      const std::size_t k = std::min(n, kBlockBytes - current->used);
      std::memcpy(current->data.get() + current->used, p, k);
      current->used += k;
      end += k;
      p += k;
      n -= k;
      if (current->used == kBlockBytes) send(std::move(current));
    }
    return {};
  }
};

PackageWriter::PackageWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PackageWriter::~PackageWriter() = default;

Result<std::unique_ptr<PackageWriter>> PackageWriter::create(const std::filesystem::path& out,
                                                             const std::string& media_name) {
  if (!valid_file_name(media_name) || media_name == kVerifyName || media_name == kManifestName ||
      media_name == kSignatureName)
    return make_error(ErrorKind::invalid_argument,
                      "media name " + media_name + " must be a plain file name");
  auto impl = std::make_unique<Impl>();
  impl->path = out;
  impl->fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (impl->fd < 0) return io_error(errno, "creating " + out.string());
  if (int flags = ::fcntl(impl->fd, F_GETFL); flags >= 0)
    impl->direct = ::fcntl(impl->fd, F_SETFL, flags | O_DIRECT) == 0;
  impl->media.name = media_name;
  const std::string header = local_header(impl->media, DosTime{}, true);
  if (auto st = impl->append(reinterpret_cast<const std::uint8_t*>(header.data()), header.size());
      !st)
    return st.error();
  impl->data_at = header.size();
  auto* self = impl.get();
  impl->hasher = std::thread([self] { self->hash_run(); });
  impl->writer = std::thread([self] { self->write_run(); });
  return std::unique_ptr<PackageWriter>(new PackageWriter(std::move(impl)));
}

Status PackageWriter::write(std::span<const std::uint8_t> bytes) {
  return impl_->append(bytes.data(), bytes.size());
}

Result<Manifest> PackageWriter::finish(Manifest manifest, const SigningKey& key) {
  auto& m = *impl_;
  if (m.fd < 0) return make_error(ErrorKind::failed_precondition, "package already finished");
  if (m.current && m.current->used > 0) m.send(std::move(m.current));
  m.stop();
  if (m.err) return *m.err;
  if (auto st = m.buffered(); !st) return st.error();
  m.media.size = m.end - m.data_at;
  m.media.crc = static_cast<std::uint32_t>(m.crc);
  m.media.zip64_local = m.media.size >= kMax32;
  const std::string verify = verify_text();
  manifest.files = {
      {m.media.name, static_cast<std::int64_t>(m.media.size), m.sha.hex()},
      {std::string(kVerifyName), static_cast<std::int64_t>(verify.size()), sha256_hex(verify)}};
  manifest.key_id = key.id();
  manifest.public_key = base64_encode(key.public_key());
  const std::string bytes = to_bytes(manifest);
  const std::string sig = key.sign(bytes);
  const DosTime t = dos_time(manifest.exported_ns);

  // The media's header again, now with its sizes and CRC (the same length).
  const std::string header = local_header(m.media, t, true);
  if (header.size() != m.data_at)
    return make_error(ErrorKind::internal, "package: the media header changed length");
  if (::pwrite(m.fd, header.data(), header.size(), 0) != static_cast<ssize_t>(header.size()))
    return io_error(errno ? errno : EIO, "writing " + m.path.string());

  std::vector<Entry> entries{m.media};
  std::uint64_t at = m.data_at + m.media.size;
  std::string tail;
  for (auto [name, data] :
       {std::pair{std::string(kManifestName), &bytes}, std::pair{std::string(kSignatureName), &sig},
        std::pair{std::string(kVerifyName), &verify}}) {
    Entry e;
    e.name = name;
    e.offset = at + tail.size();
    e.size = data->size();
    e.crc = static_cast<std::uint32_t>(
        crc32_z(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(data->data()), data->size()));
    tail += local_header(e, t, false);
    tail += *data;
    entries.push_back(std::move(e));
  }
  const std::uint64_t cd_at = at + tail.size();
  std::string cd;
  for (const auto& e : entries) cd += central_header(e, t);
  const std::uint64_t cd_size = cd.size();
  const bool z64 = cd_at >= kMax32 || cd_size >= kMax32;
  if (z64) {
    const std::uint64_t end64_at = cd_at + cd_size;
    le(cd, kEnd64Sig, 4);
    le(cd, 44, 8);
    le(cd, kMadeBy, 2);
    le(cd, 45, 2);
    le(cd, 0, 4);
    le(cd, 0, 4);
    le(cd, entries.size(), 8);
    le(cd, entries.size(), 8);
    le(cd, cd_size, 8);
    le(cd, cd_at, 8);
    le(cd, kLocator64Sig, 4);
    le(cd, 0, 4);
    le(cd, end64_at, 8);
    le(cd, 1, 4);
  }
  le(cd, kEndSig, 4);
  le(cd, 0, 2);
  le(cd, 0, 2);
  le(cd, entries.size(), 2);
  le(cd, entries.size(), 2);
  le(cd, z64 ? kMax32 : cd_size, 4);
  le(cd, z64 ? kMax32 : cd_at, 4);
  le(cd, 0, 2);
  tail += cd;
  if (auto st = m.pwrite_all(reinterpret_cast<const std::uint8_t*>(tail.data()), tail.size(), at);
      !st)
    return st.error();
  if (::fdatasync(m.fd) != 0) return io_error(errno, "syncing " + m.path.string());
  if (::close(m.fd) != 0) {
    m.fd = -1;
    return io_error(errno, "closing " + m.path.string());
  }
  m.fd = -1;
  return manifest;
}

Result<Manifest> write_package(const std::filesystem::path& out, Manifest manifest,
                               const std::filesystem::path& media, const std::string& media_name,
                               const SigningKey& key) {
  std::ifstream in(media, std::ios::binary);
  if (!in) return make_error(ErrorKind::not_found, "cannot open " + media.string());
  std::error_code ec;
  std::filesystem::remove(out, ec);
  auto w = PackageWriter::create(out, media_name);
  if (!w) return w.error();
  std::vector<std::uint8_t> buf(4 * kBlock);
  while (in) {
    in.read(reinterpret_cast<char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
    if (auto st = (*w)->write({buf.data(), static_cast<std::size_t>(in.gcount())}); !st)
      return st.error();
  }
  if (in.bad()) return make_error(ErrorKind::unavailable, "cannot read " + media.string());
  return (*w)->finish(std::move(manifest), key);
}

Verification verify_package(const std::filesystem::path& path,
                            const std::optional<std::string>& public_key) {
  Verification v;
  if (sodium_init() < 0) {
    v.problems.push_back("libsodium failed to initialise");
    return v;
  }
  std::map<std::string, Member> members;
  std::unique_ptr<zip_t, ZipCloser> z;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
      std::string name = entry.path().filename().string();
      if (!entry.is_regular_file()) {
        v.problems.push_back(name + ": not a regular file, and not listed in the manifest");
        continue;
      }
      std::filesystem::path file = entry.path();
      members[name] = {static_cast<std::int64_t>(entry.file_size()),
                       [file](const Sink& sink) -> std::optional<std::string> {
                         std::ifstream in(file, std::ios::binary);
                         if (!in) return "cannot be opened";
                         std::string buf(kBlock, '\0');
                         while (in) {
                           in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
                           sink(buf.data(), static_cast<std::size_t>(in.gcount()));
                         }
                         if (in.bad()) return "cannot be read";
                         return std::nullopt;
                       }};
    }
    if (ec) v.problems.push_back(path.string() + ": cannot list the folder: " + ec.message());
  } else {
    int err = 0;
    z.reset(zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &err));
    if (!z) {
      zip_error_t e;
      zip_error_init_with_code(&e, err);
      v.problems.push_back(path.string() + ": not a readable ZIP: " + zip_error_strerror(&e));
      zip_error_fini(&e);
      return v;
    }
    zip_int64_t n = zip_get_num_entries(z.get(), 0);
    for (zip_int64_t i = 0; i < n; ++i) {
      zip_stat_t st;
      if (zip_stat_index(z.get(), static_cast<zip_uint64_t>(i), 0, &st) != 0 || !st.name) {
        v.problems.push_back("ZIP entry " + std::to_string(i) + ": cannot be read");
        continue;
      }
      std::string name = st.name;
      if (members.count(name)) {
        v.problems.push_back(name + ": appears twice in the ZIP");
        continue;
      }
      zip_t* archive = z.get();
      auto index = static_cast<zip_uint64_t>(i);
      members[name] = {static_cast<std::int64_t>(st.size),
                       [archive, index](const Sink& sink) -> std::optional<std::string> {
                         zip_file_t* f = zip_fopen_index(archive, index, 0);
                         if (!f) return std::string("cannot be opened: ") + zip_strerror(archive);
                         std::string buf(kBlock, '\0');
                         std::optional<std::string> problem;
                         for (;;) {
                           zip_int64_t got = zip_fread(f, buf.data(), buf.size());
                           if (got < 0) {
                             problem = std::string("cannot be read: ") + zip_file_strerror(f);
                             break;
                           }
                           if (got == 0) break;
                           sink(buf.data(), static_cast<std::size_t>(got));
                         }
                         zip_fclose(f);
                         return problem;
                       }};
    }
  }

  // The manifest and its signature, read whole (bounded).
  auto read_small = [&](std::string_view name, std::string& out) -> bool {
    auto it = members.find(std::string(name));
    if (it == members.end()) {
      v.problems.push_back(std::string(name) + ": missing");
      return false;
    }
    if (it->second.bytes > kMaxManifestBytes) {
      v.problems.push_back(std::string(name) + ": larger than 64 MiB");
      return false;
    }
    auto problem = it->second.read([&](const char* d, std::size_t n) {
      if (out.size() + n <= static_cast<std::size_t>(kMaxManifestBytes)) out.append(d, n);
    });
    if (problem) {
      v.problems.push_back(std::string(name) + ": " + *problem);
      return false;
    }
    return true;
  };
  std::string bytes, sig;
  bool have_manifest = read_small(kManifestName, bytes);
  bool have_sig = read_small(kSignatureName, sig);
  if (!have_manifest) return v;
  auto m = parse(bytes);
  if (!m) {
    v.problems.push_back(std::string(kManifestName) + ": " + m.error().message);
  } else {
    v.manifest = *m;
  }

  // The key: the one given, or the one the manifest carries.
  std::string key;
  if (public_key) {
    key = *public_key;
    v.key_id = key_id(key);
    if (v.manifest && v.manifest->key_id != v.key_id) {
      v.problems.push_back(std::string(kManifestName) + ": signed, it says, by key " +
                           v.manifest->key_id + ", not by the given key " + v.key_id);
    }
  } else if (v.manifest) {
    v.key_from_manifest = true;
    if (!base64_decode(v.manifest->public_key, key) || key.size() != kPublicKeyBytes) {
      v.problems.push_back(std::string(kManifestName) +
                           ": key.public_key is not a Base64 Ed25519 public key");
      key.clear();
    } else {
      v.key_id = key_id(key);
      if (v.key_id != v.manifest->key_id) {
        v.problems.push_back(std::string(kManifestName) + ": key.id " + v.manifest->key_id +
                             " is not the id of key.public_key (" + v.key_id + ")");
      }
    }
  }
  if (have_sig && !key.empty() && !verify_signature(key, bytes, sig)) {
    v.problems.push_back(std::string(kSignatureName) + " does not match " +
                         std::string(kManifestName) + " under key " + v.key_id +
                         ": one of the two was changed (or signed by another key)");
  }

  // Every file the manifest lists, and nothing else.
  if (v.manifest) {
    for (const PackageFile& f : v.manifest->files) {
      auto it = members.find(f.name);
      if (it == members.end()) {
        v.problems.push_back(f.name + ": listed in the manifest but missing");
        continue;
      }
      Sha256 h;
      std::int64_t total = 0;
      auto problem = it->second.read([&](const char* d, std::size_t n) {
        h.update(d, n);
        total += static_cast<std::int64_t>(n);
      });
      if (problem) {
        v.problems.push_back(f.name + ": " + *problem);
        continue;
      }
      std::string got = h.hex();
      if (total != f.bytes) {
        v.problems.push_back(f.name + ": " + std::to_string(total) + " bytes, the manifest says " +
                             std::to_string(f.bytes));
      } else if (got != f.sha256) {
        v.problems.push_back(f.name + ": SHA-256 " + got + " does not match the manifest's " +
                             f.sha256);
      }
    }
    for (const auto& [name, member] : members) {
      if (name == kManifestName || name == kSignatureName) continue;
      bool listed = false;
      for (const PackageFile& f : v.manifest->files) listed = listed || f.name == name;
      if (!listed) v.problems.push_back(name + ": not listed in the manifest");
    }
  }
  return v;
}

}  // namespace zaulek::evidence
