# Hosted code (tools, unit tests, benchmarks): ordinary C++20 with warnings on; unit tests
# run under ASan/UBSan so the portable core is checked where it is easiest to check.
find_package(GTest REQUIRED)
find_package(Threads REQUIRED)
include(GoogleTest)

function(microxen_hosted target)
  target_compile_options(${target} PRIVATE ${MICROXEN_WARNINGS})
endfunction()

function(microxen_sanitized target)
  if(MICROXEN_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# A GoogleTest unit-test binary; every TEST becomes one CTest test labelled `unit`.
function(microxen_unit_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  microxen_hosted(${name})
  microxen_sanitized(${name})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest_main Threads::Threads)
  gtest_discover_tests(${name} PROPERTIES LABELS unit TIMEOUT 300 DISCOVERY_TIMEOUT 60)
endfunction()
