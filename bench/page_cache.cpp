// mincore and posix_fadvise over every regular file of a directory.
#include "bench/page_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vector>

namespace agentrt::bench {
namespace {

template <typename Fn>
void for_each_file(const std::filesystem::path& dir, Fn fn) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const auto size = it->file_size(ec);
    if (!ec) fn(fd, static_cast<std::uint64_t>(size));
    ::close(fd);
  }
}

}  // namespace

CacheState page_cache_state(const std::filesystem::path& dir) {
  CacheState st;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  for_each_file(dir, [&](int fd, std::uint64_t size) {
    st.file_bytes += size;
    if (size == 0) return;
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return;
    std::vector<unsigned char> vec((size + page - 1) / page);
    if (::mincore(p, size, vec.data()) == 0) {
      for (std::size_t i = 0; i < vec.size(); ++i) {
        if ((vec[i] & 1) == 0) continue;
        st.resident_bytes += std::min(page, size - i * page);
      }
    }
    ::munmap(p, size);
  });
  return st;
}

void evict_page_cache(const std::filesystem::path& dir) {
  for_each_file(dir, [](int fd, std::uint64_t) {
    (void)::fdatasync(fd);
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  });
}

}  // namespace agentrt::bench
