# Every third-party library comes from Debian 12 packages (scripts/setup.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
pkg_check_modules(OPENBLAS REQUIRED IMPORTED_TARGET openblas)
# Debian's librocksdb-dev ships a CMake config: target RocksDB::rocksdb (static).
find_package(RocksDB CONFIG REQUIRED)
# Workflows (workflows/): Debian's libyaml-cpp-dev 0.7.0, CMake target yaml-cpp.
find_package(yaml-cpp REQUIRED)
# CAF 0.17.6 (libcaf-dev) ships no CMake config: link caf_core by name.
find_library(AGENTRT_CAF_CORE caf_core REQUIRED)
add_library(agentrt_caf INTERFACE)
target_link_libraries(agentrt_caf INTERFACE ${AGENTRT_CAF_CORE} Threads::Threads)
if(AGENTRT_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(AGENTRT_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
