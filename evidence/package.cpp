#include "evidence/package.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <zip.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>

#include "core/text/encoding.h"

namespace zaulek::evidence {
namespace {

constexpr std::size_t kBlock = 1 << 20;
constexpr std::int64_t kMaxManifestBytes = 64 << 20;

// OpenSSL's SHA-256 (libcrypto): with the CPU's SHA extensions 3.5x
// libsodium's portable C here (1.6 GB/s against 0.46 GB/s,
// docs/design/export.md); an export hashes its sources and its MP4.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("OpenSSL SHA-256 unavailable");
  }
  void update(const char* data, std::size_t n) { EVP_DigestUpdate(ctx_.get(), data, n); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), out, &len);
    return to_hex(std::string_view(reinterpret_cast<const char*>(out), len));
  }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
};

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

std::string zip_problem(zip_t* z) {
  return zip_strerror(z);
}

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

Result<Manifest> write_package(const std::filesystem::path& out, Manifest manifest,
                               const std::filesystem::path& media, const std::string& media_name,
                               const SigningKey& key) {
  if (!valid_file_name(media_name) || media_name == kVerifyName) {
    return make_error(ErrorKind::invalid_argument,
                      "media name " + media_name + " must be a plain file name");
  }
  std::int64_t media_bytes = 0;
  auto media_hash = sha256_file(media, &media_bytes);
  if (!media_hash) return media_hash.error();
  const std::string verify = verify_text();
  manifest.files = {
      {media_name, media_bytes, *media_hash},
      {std::string(kVerifyName), static_cast<std::int64_t>(verify.size()), sha256_hex(verify)}};
  manifest.key_id = key.id();
  manifest.public_key = base64_encode(key.public_key());
  const std::string bytes = to_bytes(manifest);
  const std::string sig = key.sign(bytes);

  int err = 0;
  std::unique_ptr<zip_t, ZipCloser> z(zip_open(out.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err));
  if (!z) {
    zip_error_t e;
    zip_error_init_with_code(&e, err);
    std::string what = zip_error_strerror(&e);
    zip_error_fini(&e);
    return make_error(ErrorKind::unavailable, "cannot create " + out.string() + ": " + what);
  }
  const auto mtime = static_cast<time_t>(manifest.exported_ns / 1'000'000'000);
  auto add = [&](const std::string& name, zip_source_t* src, bool store) -> Status {
    if (!src)
      return make_error(ErrorKind::internal,
                        "zip source for " + name + ": " + zip_problem(z.get()));
    zip_int64_t i = zip_file_add(z.get(), name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (i < 0) {
      zip_source_free(src);
      return make_error(ErrorKind::internal, "adding " + name + ": " + zip_problem(z.get()));
    }
    if (store) zip_set_file_compression(z.get(), static_cast<zip_uint64_t>(i), ZIP_CM_STORE, 0);
    zip_file_set_mtime(z.get(), static_cast<zip_uint64_t>(i), mtime, 0);
    return {};
  };
  // The MP4 is read from its file at zip_close, block by block (length -1:
  // to its end); stored, since
  // compressed video does not shrink. The buffers below outlive zip_close.
  if (auto a = add(media_name, zip_source_file(z.get(), media.c_str(), 0, -1), true); !a)
    return a.error();
  for (auto [name, data] :
       {std::pair{std::string(kManifestName), &bytes}, std::pair{std::string(kSignatureName), &sig},
        std::pair{std::string(kVerifyName), &verify}}) {
    if (auto a = add(name, zip_source_buffer(z.get(), data->data(), data->size(), 0), false); !a)
      return a.error();
  }
  if (zip_close(z.get()) != 0) {
    std::string what = zip_problem(z.get());
    return make_error(ErrorKind::unavailable, "writing " + out.string() + ": " + what);
  }
  z.release();  // closed: nothing left to discard
  return manifest;
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
