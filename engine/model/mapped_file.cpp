// safetensors.h: MappedFile, a read-only private mmap of a whole file.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "engine/common/file_read.h"
#include "engine/model/safetensors.h"

namespace agentrt::model {
namespace {

Error os_error(const std::filesystem::path& path, const char* what, int err) {
  const ErrorCode code = err == ENOENT ? ErrorCode::not_found : ErrorCode::io;
  return make_error(code, path.string() + ": " + what + ": " + std::strerror(err));
}

}  // namespace

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  // stat first: open() of a FIFO blocks until a writer appears. Mapping allocates nothing, so
  // the size is not capped here.
  AGENTRT_TRY(check_regular_file(path, std::numeric_limits<std::uint64_t>::max()));
  // O_NONBLOCK too: the path may have been swapped for a FIFO since the stat.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return os_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return os_error(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::io, path.string() + ": not a regular file (changed while opened)");
  }
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<std::size_t>(st.st_size);
  if (file.size_ > 0) {  // mmap of length 0 fails; an empty file maps to an empty span
    void* addr = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (addr == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return os_error(path, "cannot mmap", err);
    }
    file.data_ = static_cast<const std::byte*>(addr);
  }
  ::close(fd);  // the mapping stays valid without the descriptor
  return file;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      path_(std::move(other.path_)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    path_ = std::move(other.path_);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

}  // namespace agentrt::model
