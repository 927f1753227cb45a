include(CMakePackageConfigHelpers)
set(TRAILKIT_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/trailkit" CACHE STRING "Install dir of trailkit's CMake package")

install(TARGETS trailkit trailkit_isal trailkit_zstd EXPORT trailkit-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY include/trailkit DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(TRAILKIT_EXPORTS_S3 OFF)
if(TARGET trailkit_s3)
  # trailkit::s3 (S3 delivery); its headers are included as <s3/...>.
  install(TARGETS trailkit_s3 EXPORT trailkit-targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
  install(FILES adapters/s3/aws_config.hpp adapters/s3/http_client.hpp adapters/s3/s3_client.hpp
                adapters/s3/s3_destination.hpp adapters/s3/sigv4.hpp
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/trailkit/adapters/s3)
  set(TRAILKIT_EXPORTS_S3 ON)
endif()
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
