include(CMakePackageConfigHelpers)

get_property(operator_targets GLOBAL PROPERTY SLUICE_OPERATOR_TARGETS)
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
