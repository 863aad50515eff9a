#include "storage/plans.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zaulek::storage {
namespace {

Error io_error(const std::string& what, int err) {
  return make_error(
      err == ENOSPC || err == EDQUOT ? ErrorKind::resource_exhausted : ErrorKind::unavailable,
      what + ": " + std::strerror(err));
}

// Closes on every path out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

Status sync_dir(const std::filesystem::path& dir) {
  Fd d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0) return io_error("opening " + dir.string(), errno);
  if (::fsync(d.fd) != 0) return io_error("syncing " + dir.string(), errno);
  return {};
}

}  // namespace

PlanFiles::PlanFiles(std::filesystem::path storage_root)
    : dir_(std::move(storage_root) / "plans") {}

std::filesystem::path PlanFiles::path(std::int64_t site_id, const std::string& sha256,
                                      std::string_view extension) const {
  return dir_ / ("site-" + std::to_string(site_id) + "-" + sha256.substr(0, 16) + "." +
                 std::string(extension));
}

Status PlanFiles::write(std::int64_t site_id, const std::string& sha256, std::string_view extension,
                        std::string_view bytes) {
  if (extension != "png" && extension != "jpg")
    return make_error(ErrorKind::invalid_argument, "a plan is a png or jpg file");
  if (sha256.size() != 64 || sha256.find_first_not_of("0123456789abcdef") != std::string::npos)
    return make_error(ErrorKind::invalid_argument, "a plan file is named by its SHA-256");
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return io_error("creating " + dir_.string(), ec.value());
  const auto final_path = path(site_id, sha256, extension);
  auto tmp = final_path;
  tmp += ".tmp";
  {
    Fd f{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640)};
    if (f.fd < 0) return io_error("creating " + tmp.string(), errno);
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::write(f.fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return io_error("writing " + tmp.string(), err);
      }
      done += static_cast<std::size_t>(n);
    }
    if (::fsync(f.fd) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return io_error("syncing " + tmp.string(), err);
    }
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error("renaming " + tmp.string(), err);
  }
  return sync_dir(dir_);
}

Result<std::string> PlanFiles::read(std::int64_t site_id, const std::string& sha256,
                                    std::string_view extension, std::int64_t expected_bytes) {
  if (expected_bytes < 0) return make_error(ErrorKind::invalid_argument, "negative plan size");
  const auto p = path(site_id, sha256, extension);
  Fd f{::open(p.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT)
      return make_error(ErrorKind::not_found,
                        "site " + std::to_string(site_id) + " has no plan file");
    return io_error("opening " + p.string(), errno);
  }
  // The size first: a file changed behind the catalogue's back is refused
  // before anything is allocated for it.
  struct stat info {};
  if (::fstat(f.fd, &info) != 0) return io_error("reading " + p.string(), errno);
  if (info.st_size != expected_bytes)
    return make_error(ErrorKind::data_loss, "the plan file " + p.string() + " has " +
                                                std::to_string(info.st_size) + " bytes, not " +
                                                std::to_string(expected_bytes));
  std::string out(static_cast<std::size_t>(expected_bytes), '\0');
  std::size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(f.fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("reading " + p.string(), errno);
    if (n == 0)
      return make_error(ErrorKind::data_loss, "the plan file " + p.string() + " shrank while read");
    done += static_cast<std::size_t>(n);
  }
  return out;
}

Status PlanFiles::remove(std::int64_t site_id, const std::string& sha256,
                         std::string_view extension) {
  const auto p = path(site_id, sha256, extension);
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return io_error("removing " + p.string(), errno);
  }
  return sync_dir(dir_);
}

}  // namespace zaulek::storage
