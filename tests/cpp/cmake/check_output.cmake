# cmake -DEXE=<program> -DEXPECTED=<file> -P check_output.cmake
# Runs the program (through CMAKE_CROSSCOMPILING_EMULATOR's equivalent EMULATOR, if given) and
# fails unless it exits 0 and its standard output equals the file's content exactly.
execute_process(COMMAND ${EMULATOR} "${EXE}" OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
file(READ "${EXPECTED}" expected)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} exited with ${rc}\n${err}")
endif()
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "output differs from the README.\n--- got:\n${out}\n--- README:\n${expected}")
endif()
message(STATUS "output matches the README")
