# Cross-compiling fixedq for 64-bit ARM Linux with Debian's GNU cross toolchain, and running
# what was built (tests, test discovery, benchmarks) under qemu-user.
#
#   apt-get install g++-aarch64-linux-gnu qemu-user libgtest-dev
#   cmake -S . -B build/aarch64 -G Ninja -DCMAKE_BUILD_TYPE=Release \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DFIXEDQ_GTEST_SOURCE_DIR=/usr/src/googletest -DFIXEDQ_BUILD_ORACLE_TESTS=OFF \
#     -DFIXEDQ_BUILD_BENCHMARKS=OFF
#   cmake --build build/aarch64 -j2
#   QEMU_CPU=cortex-a53 ctest --test-dir build/aarch64      # or neoverse-n1, max, ...
#
# The emulated CPU: the cache variable FIXEDQ_QEMU_CPU, when set, is passed as -cpu and fixed
# at configure time; left empty, qemu reads the environment variable QEMU_CPU at each run
# (qemu's default is "max": every feature it emulates). The CPUs that matter for the int8
# paths: cortex-a53 (ARMv8.0: neon only), neoverse-n1 (+ dot product), max (+ i8mm).
#
# Target libraries: the cross toolchain's own (/usr/aarch64-linux-gnu), enough for the kernel
# tests with GoogleTest built from source. FIXEDQ_AARCH64_ROOT, an arm64 Debian root filesystem
# (debootstrap --arch=arm64 --foreign, its .debs unpacked), adds its libraries and headers
# (GoogleTest, google-benchmark, Python) for find_package, the linker and qemu's loader; with
# it the benchmarks and the Python module cross-build too: .ci/run, stage aarch64, is the
# worked recipe (pybind11 with PYBIND11_USE_CROSSCOMPILING, Python_EXECUTABLE the root's
# interpreter, which FindPython runs through the emulator). find_* looks only in the target
# roots: an x86-64 library never gets in.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(FIXEDQ_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${FIXEDQ_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${FIXEDQ_CROSS_TRIPLE}-g++)

set(FIXEDQ_QEMU_CPU "" CACHE STRING "qemu-aarch64 -cpu for running target programs (empty: $QEMU_CPU at run time)")
set(FIXEDQ_AARCH64_ROOT "" CACHE PATH "an arm64 Debian root filesystem with target libraries (optional)")
# try_compile projects see only listed variables.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FIXEDQ_QEMU_CPU FIXEDQ_AARCH64_ROOT)

set(CMAKE_FIND_ROOT_PATH /usr/${FIXEDQ_CROSS_TRIPLE})
set(_fixedq_qemu_root /usr/${FIXEDQ_CROSS_TRIPLE})
if(FIXEDQ_AARCH64_ROOT)
  list(APPEND CMAKE_FIND_ROOT_PATH "${FIXEDQ_AARCH64_ROOT}")
  # qemu's loader prefix: the full root has the C library, libstdc++ and everything else.
  set(_fixedq_qemu_root "${FIXEDQ_AARCH64_ROOT}")
  # Multiarch layout of Debian: libraries in usr/lib/aarch64-linux-gnu, found through the
  # root path; an extra link path lets the linker resolve their own dependencies.
  set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,-rpath-link,${FIXEDQ_AARCH64_ROOT}/usr/lib/${FIXEDQ_CROSS_TRIPLE} -Wl,-rpath-link,${FIXEDQ_AARCH64_ROOT}/lib/${FIXEDQ_CROSS_TRIPLE}")
  set(CMAKE_SHARED_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")
  set(CMAKE_MODULE_LINKER_FLAGS_INIT "${CMAKE_EXE_LINKER_FLAGS_INIT}")
  # The root's headers after the toolchain's own (its C library and libstdc++ stay first):
  # Debian's Python.h includes <aarch64-linux-gnu/python3.X/pyconfig.h> from there.
  set(CMAKE_CXX_FLAGS_INIT "-idirafter ${FIXEDQ_AARCH64_ROOT}/usr/include")
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(FIXEDQ_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${FIXEDQ_QEMU_AARCH64};-L;${_fixedq_qemu_root}")
if(FIXEDQ_QEMU_CPU)
  list(APPEND CMAKE_CROSSCOMPILING_EMULATOR -cpu ${FIXEDQ_QEMU_CPU})
endif()
