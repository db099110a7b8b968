# cmake -DBINARY=FILE -P needed_libraries.cmake: fails when FILE needs (DT_NEEDED, as ldd
# would load it) libcurl, libpq, libssl, libcrypto or libsimdjson.
execute_process(COMMAND readelf -d ${BINARY} OUTPUT_VARIABLE dynamic COMMAND_ERROR_IS_FATAL ANY)
string(REGEX MATCHALL "Shared library: \\[[^]]*\\]" needed "${dynamic}")
message(STATUS "${BINARY} needs: ${needed}")
foreach(library libcurl libpq libssl libcrypto libsimdjson)
  if(needed MATCHES "\\[${library}[.-]")
    message(FATAL_ERROR "${BINARY} needs ${library}")
  endif()
endforeach()
