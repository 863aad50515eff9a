#include "server/security/secretbox.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zaulek::server {

namespace {

Error file_error(const std::filesystem::path& p, const std::string& what) {
  return make_error(ErrorKind::failed_precondition, "secret key " + p.string() + ": " + what);
}

}  // namespace

Result<SecretBox> SecretBox::open_or_create(const std::filesystem::path& key_file) {
  if (sodium_init() < 0) return make_error(ErrorKind::internal, "libsodium failed to initialise");
  SecretBox box;
  box.key_.resize(crypto_secretbox_KEYBYTES);
  int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return file_error(key_file, std::string("cannot create: ") + std::strerror(errno));
    crypto_secretbox_keygen(box.key_.data());
    bool ok =
        ::write(fd, box.key_.data(), box.key_.size()) == static_cast<ssize_t>(box.key_.size()) &&
        ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
      std::filesystem::remove(key_file);
      return file_error(key_file, "cannot write the new key");
    }
    return box;
  }
  if (fd < 0) return file_error(key_file, std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return file_error(key_file, "not a regular file");
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    ::close(fd);
    return file_error(key_file, "readable by group or others; chmod 600 it");
  }
  std::uint8_t extra;
  bool ok = st.st_size == static_cast<off_t>(box.key_.size()) &&
            ::read(fd, box.key_.data(), box.key_.size()) == static_cast<ssize_t>(box.key_.size()) &&
            ::read(fd, &extra, 1) == 0;
  ::close(fd);
  if (!ok)
    return file_error(key_file,
                      "must hold exactly " + std::to_string(crypto_secretbox_KEYBYTES) + " bytes");
  return box;
}

SecretBox::SecretBox(SecretBox&& other) noexcept : key_(std::move(other.key_)) {}

SecretBox::~SecretBox() {
  if (!key_.empty()) sodium_memzero(key_.data(), key_.size());
}

std::vector<std::uint8_t> SecretBox::seal(std::string_view plaintext) const {
  std::vector<std::uint8_t> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                plaintext.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                        out.data(), key_.data());
  return out;
}

Result<std::string> SecretBox::open(const std::vector<std::uint8_t>& sealed) const {
  constexpr std::size_t kOverhead = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
  if (sealed.size() < kOverhead)
    return make_error(ErrorKind::data_loss, "sealed credential is too short");
  std::string out(sealed.size() - kOverhead, '\0');
  if (crypto_secretbox_open_easy(
          reinterpret_cast<unsigned char*>(out.data()), sealed.data() + crypto_secretbox_NONCEBYTES,
          sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(), key_.data()) != 0)
    return make_error(ErrorKind::data_loss,
                      "sealed credential does not open with this secret.key (wrong key file?)");
  return out;
}

}  // namespace zaulek::server
