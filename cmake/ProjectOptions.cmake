# Warnings, warnings-as-errors and sanitizers for project targets (not for third-party code).
add_library(agentrt_options INTERFACE)
target_compile_options(agentrt_options INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wcast-align -Wunused -Woverloaded-virtual -Wimplicit-fallthrough>)
# GCC 12 reports false positives inside libstdc++'s std::string code at -O2 (memcpy "out of
# bounds" of a string temporary); they depend on inlining, not on project code.
target_compile_options(agentrt_options INTERFACE
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<CXX_COMPILER_ID:GNU>>:-Wno-array-bounds -Wno-stringop-overflow
    -Wno-stringop-overread>)
if(AGENTRT_WERROR)
  target_compile_options(agentrt_options INTERFACE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
endif()
target_include_directories(agentrt_options INTERFACE ${PROJECT_SOURCE_DIR})
if(AGENTRT_SANITIZE)
  target_compile_options(agentrt_options INTERFACE
    $<$<COMPILE_LANGUAGE:CXX>:-fsanitize=${AGENTRT_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all>)
  target_link_options(agentrt_options INTERFACE -fsanitize=${AGENTRT_SANITIZE})
endif()

# Line tables instead of full debug info: stack traces keep file:line, compiles go faster.
foreach(cfg RELWITHDEBINFO DEBUG)
  string(REPLACE "-g" "-g1" CMAKE_CXX_FLAGS_${cfg} "${CMAKE_CXX_FLAGS_${cfg}}")
endforeach()

# Precompiled headers for the heavy third-party includes (nlohmann-json, GoogleTest); most
# of the build's time went to parsing them again in every test file.
function(agentrt_precompile target)
  cmake_parse_arguments(P "TEST" "" "" ${ARGN})
  set(headers <nlohmann/json.hpp> <string> <vector> <map> <memory> <functional>)
  if(P_TEST)
    list(APPEND headers <gtest/gtest.h>)
  endif()
  target_precompile_headers(${target} PRIVATE ${headers})
endfunction()

# Unity builds for the libraries (AGENTRT_UNITY_BUILD, on by default): CMake compiles each
# library's sources in batches of 8 per translation unit, so CAF, RocksDB, httplib and the
# project's own headers are parsed and their templates instantiated once a batch instead of
# once a file. Measured on agentrt_cluster's 18 sources: 144 s of compile alone, 43 s as one
# unit. Test programs stay one unit per file (their anonymous-namespace helpers share names).
option(AGENTRT_UNITY_BUILD "Compile library sources in unity batches" ON)
function(agentrt_unity target)
  if(AGENTRT_UNITY_BUILD)
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
  endif()
endfunction()

# agentrt_module(TARGET DIR [DEPS ...] [PRIVATE_DEPS ...]): one library from DIR/*.cpp (not
# recursive; tests and fuzz targets excluded) and one test binary TARGET_tests from
# DIR/*.test.cpp. A folder without sources becomes an INTERFACE library.
function(agentrt_module target dir)
  cmake_parse_arguments(M "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB sources CONFIGURE_DEPENDS ${dir}/*.cpp)
  list(FILTER sources EXCLUDE REGEX "\\.(test|fuzz)\\.cpp$")
  if(sources)
    add_library(${target} STATIC ${sources})
    agentrt_unity(${target})
    target_link_libraries(${target} PUBLIC agentrt_options ${M_DEPS} PRIVATE ${M_PRIVATE_DEPS}
                          nlohmann_json::nlohmann_json)
    agentrt_precompile(${target})
  else()
    add_library(${target} INTERFACE)
    target_link_libraries(${target} INTERFACE agentrt_options ${M_DEPS})
  endif()
  file(GLOB tests CONFIGURE_DEPENDS ${dir}/*.test.cpp)
  if(tests AND AGENTRT_BUILD_TESTS)
    add_executable(${target}_tests ${tests})
    target_link_libraries(${target}_tests PRIVATE ${target} agentrt_options GTest::gtest
                          GTest::gtest_main nlohmann_json::nlohmann_json)
    agentrt_precompile(${target}_tests TEST)
    target_compile_definitions(${target}_tests PRIVATE
                               AGENTRT_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    include(GoogleTest)
    gtest_discover_tests(${target}_tests DISCOVERY_TIMEOUT 120)
  endif()
endfunction()
