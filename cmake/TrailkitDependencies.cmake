# Third-party dependencies of the core. Each is wrapped in a trailkit_* interface target so the
# exported package can re-create it in trailkit-config.cmake (ISA-L has only a pkg-config file).
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)
find_package(SQLite3 REQUIRED)  # the event history (LookupEvents)
find_package(PkgConfig REQUIRED)
pkg_check_modules(TRAILKIT_PC_ISAL REQUIRED IMPORTED_TARGET libisal)
pkg_check_modules(TRAILKIT_PC_ZSTD REQUIRED IMPORTED_TARGET libzstd)

if(NOT TARGET trailkit_isal)
  add_library(trailkit_isal INTERFACE)
  target_link_libraries(trailkit_isal INTERFACE PkgConfig::TRAILKIT_PC_ISAL)
  add_library(trailkit_zstd INTERFACE)
  target_link_libraries(trailkit_zstd INTERFACE PkgConfig::TRAILKIT_PC_ZSTD)
endif()

if(TRAILKIT_BUILD_CLI OR TRAILKIT_BUILD_TESTS)
  find_package(CLI11 CONFIG REQUIRED)
endif()
if(TRAILKIT_BUILD_ADAPTERS)
  # Found at the top level so tests and the CLI see Boost::headers too (the core never links it).
  find_package(Boost 1.81 CONFIG REQUIRED)
endif()
# Header-only; the core uses it privately for its state-dir files (never in its public headers).
find_package(nlohmann_json 3.2 CONFIG REQUIRED)

function(trailkit_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wold-style-cast -Wcast-align -Woverloaded-virtual)
endfunction()
