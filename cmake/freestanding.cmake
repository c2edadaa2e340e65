# Freestanding x86-64 code (hypervisor, test guests, later dom0) built with the system g++.
# The -nostdlib link is what enforces "no hidden runtime": no libc, no libstdc++, no
# exceptions, no RTTI, no thread-safe statics, no red zone (interrupts push onto the stack).

set(MICROXEN_FREESTANDING_FLAGS
  -ffreestanding -fno-exceptions -fno-rtti -fno-threadsafe-statics -fno-use-cxa-atexit
  -fno-stack-protector -fno-asynchronous-unwind-tables -fcf-protection=none
  -mno-red-zone -mgeneral-regs-only -fno-omit-frame-pointer
  -fno-strict-aliasing)

# Apply freestanding compile flags to a target. PIC_MODEL is how the image is addressed:
#   pie     - RIP-relative everything (the hypervisor is linked in Xen's upper-half range,
#             outside the +-2 GiB that -mcmodel=kernel could reach, as Xen does with -fpic)
#   kernel  - a guest kernel linked in the top 2 GiB (like Linux)
function(microxen_freestanding target pic_model)
  target_compile_options(${target} PRIVATE ${MICROXEN_FREESTANDING_FLAGS} ${MICROXEN_WARNINGS}
    $<$<COMPILE_LANGUAGE:CXX>:-Wno-volatile>)
  if(pic_model STREQUAL "pie")
    target_compile_options(${target} PRIVATE -fpie -fvisibility=hidden
      -include ${PROJECT_SOURCE_DIR}/cmake/hidden_visibility.h)
  elseif(pic_model STREQUAL "kernel")
    target_compile_options(${target} PRIVATE -fno-pic -mcmodel=kernel)
  else()
    message(FATAL_ERROR "microxen_freestanding: unknown model ${pic_model}")
  endif()
  target_compile_definitions(${target} PRIVATE MICROXEN_FREESTANDING=1)
endfunction()

# A freestanding ELF image linked with its own linker script.
function(microxen_add_image name)
  cmake_parse_arguments(ARG "" "LINKER_SCRIPT;MODEL" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  microxen_freestanding(${name} ${ARG_MODEL})
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" LINK_DEPENDS ${ARG_LINKER_SCRIPT})
  target_link_options(${name} PRIVATE -nostdlib -static -no-pie -Wl,--build-id=none
    -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments
    -Wl,-T,${ARG_LINKER_SCRIPT})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} gcc)
endfunction()
