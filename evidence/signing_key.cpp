#include "evidence/signing_key.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/text/encoding.h"

namespace zaulek::evidence {
namespace {

Error file_error(const std::filesystem::path& p, const std::string& what) {
  return make_error(ErrorKind::failed_precondition, "signing key " + p.string() + ": " + what);
}

std::chrono::system_clock::time_point mtime(const struct stat& st) {
  return std::chrono::system_clock::time_point{
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::seconds{st.st_mtim.tv_sec} + std::chrono::nanoseconds{st.st_mtim.tv_nsec})};
}

}  // namespace

std::string key_id(std::string_view public_key) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(public_key.data()),
                     public_key.size());
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest), 8));
}

bool verify_signature(std::string_view public_key, std::string_view message,
                      std::string_view signature) {
  if (sodium_init() < 0) return false;
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(),
             reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

SigningKey SigningKey::from_seed(std::string_view seed) {
  SigningKey k;
  k.seed_.assign(seed);
  k.secret_.resize(crypto_sign_SECRETKEYBYTES);
  k.public_key_.resize(crypto_sign_PUBLICKEYBYTES);
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(k.public_key_.data()),
                           reinterpret_cast<unsigned char*>(k.secret_.data()),
                           reinterpret_cast<const unsigned char*>(seed.data()));
  k.id_ = key_id(k.public_key_);
  return k;
}

SigningKey SigningKey::generate() {
  static_assert(kPublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
  static_assert(kSignatureBytes == crypto_sign_BYTES);
  if (sodium_init() < 0) std::abort();  // libsodium cannot run at all: nothing else would either
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  randombytes_buf(seed.data(), seed.size());
  SigningKey k = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  return k;
}

Result<SigningKey> SigningKey::open_or_create(const std::filesystem::path& file) {
  if (sodium_init() < 0) return make_error(ErrorKind::internal, "libsodium failed to initialise");
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      // A read-only key folder (/etc/zaulek/private under ProtectSystem=strict)
      // takes a key made by hand, like storage.key_file.
      return file_error(file, std::string("cannot create: ") + std::strerror(errno) +
                                  " (make one: head -c 32 /dev/urandom > " + file.string() +
                                  "; chmod 600 it)");
    }
    SigningKey k = generate();
    struct stat st {};
    bool ok = ::write(fd, k.seed_.data(), k.seed_.size()) == static_cast<ssize_t>(k.seed_.size()) &&
              ::fsync(fd) == 0 && ::fstat(fd, &st) == 0;
    ::close(fd);
    if (!ok) {
      std::filesystem::remove(file);
      return file_error(file, "cannot write the new key");
    }
    k.created_ = mtime(st);
    return k;
  }
  if (fd < 0) return file_error(file, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return file_error(file, "not a regular file");
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    ::close(fd);
    return file_error(file, "readable by group or others; chmod 600 it");
  }
  std::string seed(crypto_sign_SEEDBYTES, '\0');
  char extra;
  bool ok = st.st_size == static_cast<off_t>(seed.size()) &&
            ::read(fd, seed.data(), seed.size()) == static_cast<ssize_t>(seed.size()) &&
            ::read(fd, &extra, 1) == 0;
  ::close(fd);
  if (!ok) {
    sodium_memzero(seed.data(), seed.size());
    return file_error(file, "must hold exactly " + std::to_string(crypto_sign_SEEDBYTES) +
                                " bytes (an Ed25519 seed)");
  }
  SigningKey k = from_seed(seed);
  sodium_memzero(seed.data(), seed.size());
  k.created_ = mtime(st);
  return k;
}

SigningKey::SigningKey(SigningKey&& other) noexcept
    : seed_(std::move(other.seed_)),
      secret_(std::move(other.secret_)),
      public_key_(std::move(other.public_key_)),
      id_(std::move(other.id_)),
      created_(other.created_) {}

SigningKey::~SigningKey() {
  if (!seed_.empty()) sodium_memzero(seed_.data(), seed_.size());
  if (!secret_.empty()) sodium_memzero(secret_.data(), secret_.size());
}

std::string SigningKey::sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       reinterpret_cast<const unsigned char*>(secret_.data()));
  return sig;
}

}  // namespace zaulek::evidence
