# AGENTRT_FUZZ=ON (clang only): every NAME.fuzz.cpp under engine/, workflows/, cli/, api/,
# cluster/ and actors/ becomes a libFuzzer binary fuzz_NAME, linked with the library of its folder
# (agentrt_FOLDER, agentrt_api_FOLDER under api/, agentrt_cluster_wire under cluster/ (the
# wire types without the runtime); workflows/ and api/ targets also with agentrt_chat and
# agentrt_workflows). scripts/fuzz.sh builds and runs them, starting
# from the seeds in tests/fuzz/corpus/NAME/.
option(AGENTRT_FUZZ "Build libFuzzer targets (needs clang)" OFF)
function(agentrt_add_fuzzers)
  if(NOT AGENTRT_FUZZ)
    return()
  endif()
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "AGENTRT_FUZZ needs clang (CXX=clang++)")
  endif()
  file(GLOB_RECURSE fuzzers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/engine/*.fuzz.cpp
       ${PROJECT_SOURCE_DIR}/workflows/*.fuzz.cpp ${PROJECT_SOURCE_DIR}/cli/*.fuzz.cpp
       ${PROJECT_SOURCE_DIR}/api/*.fuzz.cpp ${PROJECT_SOURCE_DIR}/cluster/*.fuzz.cpp
       ${PROJECT_SOURCE_DIR}/actors/*.fuzz.cpp)
  foreach(src ${fuzzers})
    get_filename_component(name ${src} NAME_WE)
    get_filename_component(folder ${src} DIRECTORY)
    get_filename_component(parent ${folder} DIRECTORY)
    get_filename_component(parent ${parent} NAME)
    get_filename_component(folder ${folder} NAME)
    add_executable(fuzz_${name} ${src})
    if(folder STREQUAL "cluster")
      target_link_libraries(fuzz_${name} PRIVATE agentrt_cluster_wire agentrt_options)
    elseif(parent STREQUAL "api")
      target_link_libraries(fuzz_${name} PRIVATE agentrt_api_${folder} agentrt_workflows
                            agentrt_options)
    else()
      target_link_libraries(fuzz_${name} PRIVATE agentrt_${folder} agentrt_options)
    endif()
    # workflows/nesting_depth.fuzz.cpp drives the chat parsers as well.
    if(folder STREQUAL "workflows")
      target_link_libraries(fuzz_${name} PRIVATE agentrt_chat)
    endif()
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
  endforeach()
endfunction()
