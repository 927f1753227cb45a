include(CMakePackageConfigHelpers)
set(TRAILKIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/trailkit" CACHE STRING "Install dir of trailkit's CMake package")

install(TARGETS trailkit trailkit_isal trailkit_zstd EXPORT trailkit-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/trailkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET trailkit_cli)
  install(TARGETS trailkit_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT trailkit-targets NAMESPACE trailkit:: DESTINATION ${TRAILKIT_CMAKE_DIR})
configure_package_config_file(cmake/trailkit-config.cmake.in
  ${PROJECT_BINARY_DIR}/trailkit-config.cmake INSTALL_DESTINATION ${TRAILKIT_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/trailkit-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/trailkit-config.cmake ${PROJECT_BINARY_DIR}/trailkit-config-version.cmake
        DESTINATION ${TRAILKIT_CMAKE_DIR})
