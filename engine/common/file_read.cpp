#include "engine/common/file_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agentrt {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Error os_error(const std::filesystem::path& path, int err) {
  if (err == ENOENT || err == ENOTDIR)
    return make_error(ErrorCode::not_found, path.string() + ": no such file");
  if (err == ELOOP)
    return make_error(ErrorCode::io, path.string() + ": too many levels of symbolic links");
  return make_error(ErrorCode::io, path.string() + ": cannot open: " + std::strerror(err));
}

Error too_large(const std::filesystem::path& path, std::uint64_t size, std::uint64_t max_bytes) {
  const std::string got =
      size > max_bytes ? std::to_string(size) : "more than " + std::to_string(max_bytes);
  return make_error(ErrorCode::invalid_argument, path.string() + ": file too large (" + got +
                                                     " bytes, limit " + std::to_string(max_bytes) +
                                                     ")");
}

Result<std::uint64_t> check_stat(const std::filesystem::path& path, const struct stat& st,
                                 std::uint64_t max_bytes) {
  if (!S_ISREG(st.st_mode))
    return make_error(ErrorCode::io,
                      path.string() + ": " + kind_of(st.st_mode) + ", not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) return too_large(path, size, max_bytes);
  return size;
}

}  // namespace

Result<std::uint64_t> check_regular_file(const std::filesystem::path& path,
                                         std::uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return os_error(path, errno);
  return check_stat(path, st, max_bytes);
}

Result<std::string> read_file_bounded(const std::filesystem::path& path, std::uint64_t max_bytes) {
  // stat first: opening a FIFO for reading would block until a writer appears.
  auto size = check_regular_file(path, max_bytes);
  if (!size.ok()) return size.error();
  // O_NONBLOCK as well: the path may have been swapped for a FIFO since the stat.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return os_error(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return os_error(path, err);
  }
  size = check_stat(path, st, max_bytes);
  if (!size.ok()) {
    ::close(fd);
    return size.error();
  }
  std::string out;
  out.resize(static_cast<std::size_t>(*size));
  std::size_t got = 0;
  char probe = 0;
  while (true) {
    // Read into the string, then one byte more to notice a file that grew past its stat.
    char* dst = got < out.size() ? out.data() + got : &probe;
    const std::size_t want = got < out.size() ? out.size() - got : 1;
    const ssize_t n = ::read(fd, dst, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return make_error(ErrorCode::io, path.string() + ": read failed: " + std::strerror(err));
    }
    if (n == 0) break;
    if (got >= out.size()) {  // grew: keep reading to the cap
      if (out.size() + 1 > max_bytes) {
        ::close(fd);
        return too_large(path, out.size() + 1, max_bytes);
      }
      out.push_back(probe);
      got = out.size();
      continue;
    }
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(got);  // shrank while read
  return out;
}

}  // namespace agentrt
