include(CMakePackageConfigHelpers)

get_property(operator_targets GLOBAL PROPERTY SLUICE_OPERATOR_TARGETS)

# What the installed package must find again for the operators that were built (static
# libraries carry their dependencies into the consumer's link).
set(SLUICE_PACKAGE_DEPENDENCIES "")
if(TARGET sluice_op_elasticsearch)
    string(APPEND SLUICE_PACKAGE_DEPENDENCIES "find_dependency(CURL)\nfind_dependency(ZLIB)\n")
endif()
if(TARGET sluice_op_kafka OR TARGET sluice_op_xgboost)
    string(APPEND SLUICE_PACKAGE_DEPENDENCIES "find_dependency(PkgConfig)\n")
endif()
if(TARGET sluice_op_kafka)
    string(APPEND SLUICE_PACKAGE_DEPENDENCIES "pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)\n")
endif()
if(TARGET sluice_op_xgboost)
    string(APPEND SLUICE_PACKAGE_DEPENDENCIES "pkg_check_modules(XGBOOST REQUIRED IMPORTED_TARGET xgboost)\n")
endif()
if(TARGET sluice_op_dashboard)
    string(APPEND SLUICE_PACKAGE_DEPENDENCIES
        "find_dependency(PkgConfig)\npkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)\n")
endif()
string(REPLACE "\\n" "\n" SLUICE_PACKAGE_DEPENDENCIES "${SLUICE_PACKAGE_DEPENDENCIES}")
install(TARGETS sluice_core sluice ${operator_targets}
    EXPORT sluice-targets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT sluice-targets NAMESPACE sluice:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)
configure_package_config_file(cmake/sluice-config.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/sluice-config.cmake
    INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/sluice-config-version.cmake
    COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/sluice-config.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/sluice-config-version.cmake
    DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/sluice)
if(SLUICE_BUILD_CLI)
    install(TARGETS sluice_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
