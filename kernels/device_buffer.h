// Owned device and pinned host allocations. Allocation failures are values: allocate()
// returns out_of_memory naming the size. Host code only; not thread-safe.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

#include "kernels/cuda_check.h"

namespace agentrt::kernels {

// Device memory from cudaMalloc; freed on destruction.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      reset();
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { reset(); }

  // Replaces the allocation with one of `bytes` (uninitialized).
  Status allocate(std::size_t bytes) {
    reset();
    if (bytes == 0) return ok_status();
    cudaError_t err = cudaMalloc(&ptr_, bytes);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      return cuda_status(err, ("cudaMalloc(" + std::to_string(bytes) + " bytes)").c_str());
    }
    bytes_ = bytes;
    return ok_status();
  }
  // Grows (never shrinks) to at least `bytes`; contents are lost when it grows.
  Status reserve(std::size_t bytes) { return bytes <= bytes_ ? ok_status() : allocate(bytes); }
  // reserve() for a buffer that work queued on `users` may still read or write: a growth
  // waits for that work before the old allocation is freed (cudaFree alone may not).
  Status reserve(std::size_t bytes, cudaStream_t users) {
    if (bytes <= bytes_) return ok_status();
    if (ptr_) {
      const cudaError_t err = cudaStreamSynchronize(users);
      if (err != cudaSuccess) return cuda_status(err, "DeviceBuffer::reserve: stream");
    }
    return allocate(bytes);
  }
  void reset() {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }

  template <class T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

// Page-locked host memory (cudaMallocHost), for async copies.
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  ~PinnedBuffer() { reset(); }

  Status reserve(std::size_t bytes) {
    if (bytes <= bytes_) return ok_status();
    reset();
    cudaError_t err = cudaMallocHost(&ptr_, bytes);
    if (err != cudaSuccess) {
      ptr_ = nullptr;
      return cuda_status(err, ("cudaMallocHost(" + std::to_string(bytes) + " bytes)").c_str());
    }
    bytes_ = bytes;
    return ok_status();
  }
  void reset() {
    if (ptr_) cudaFreeHost(ptr_);
    ptr_ = nullptr;
    bytes_ = 0;
  }
  template <class T = void>
  T* get() const {
    return static_cast<T*>(ptr_);
  }
  std::size_t bytes() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

}  // namespace agentrt::kernels
