# Every dependency comes from a Debian 12 package (scripts/install-deps); nothing is downloaded
# at configure time. ../shared/DEPENDENCIES.md says how each one is found.
find_package(Threads REQUIRED)
find_package(TBB CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED)
find_package(simdjson CONFIG REQUIRED)
if(SLUICE_BUILD_TESTS)
    find_package(Catch2 CONFIG REQUIRED)
endif()
if(SLUICE_BUILD_BENCH)
    find_package(benchmark CONFIG REQUIRED)
endif()
# The dashboard (operators/dashboard): Debian's cpp-httplib is a compiled library whose header
# must see the CPPHTTPLIB_* macros it was built with; its pkg-config file carries them. npm
# fetches the pages' charting library at build time.
find_package(PkgConfig QUIET)
if(PKG_CONFIG_FOUND)
    pkg_check_modules(HTTPLIB QUIET IMPORTED_TARGET cpp-httplib)
endif()
find_program(SLUICE_NPM npm)
