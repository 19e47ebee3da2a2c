// src/config/file_text.cpp — bounded reads of whole configuration files.
#include "config/file_text.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "config/limits.h"

namespace ballast::config {
namespace {

constexpr size_t kReadChunkBytes = size_t{64} * 1024;

}  // namespace

std::optional<std::string> readWholeFile(const std::string& path, std::string& out) {
  // O_NONBLOCK: a FIFO matched by a glob must not hang the open; regular files ignore it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return std::string(std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return std::string(std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
  }
  if (!S_ISREG(st.st_mode)) {
    return std::string("not a regular file");
  }
  std::string data;
  std::array<char, kReadChunkBytes> chunk{};
  while (true) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return std::string(std::strerror(errno));  // NOLINT(concurrency-mt-unsafe)
    }
    if (n == 0) {
      break;
    }
    if (data.size() + static_cast<size_t>(n) > kMaxConfigFileBytes) {
      return "larger than " + std::to_string(kMaxConfigFileBytes) + " bytes";
    }
    data.append(chunk.data(), static_cast<size_t>(n));
  }
  out = std::move(data);
  return std::nullopt;
}

}  // namespace ballast::config
