# What `cmake --install` puts where, for libkvw (tools/ installs the kvw
# tool itself). Components: "runtime" is libkvw.so.N alone; "development"
# adds the headers, the libkvw.so link, kvw.pc and the CMake package.
include(CMakePackageConfigHelpers)

set(KVW_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/kvw)

install(TARGETS kvw EXPORT kvwTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    COMPONENT runtime
    NAMELINK_COMPONENT development)

# Everything under include/kvw/ is public, and nothing else is.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/kvw/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/kvw
  COMPONENT development
  FILES_MATCHING PATTERN "*.h")

# CMake package: paths inside it are relative to where it is installed.
install(EXPORT kvwTargets
  NAMESPACE kvw::
  DESTINATION ${KVW_INSTALL_CMAKEDIR}
  COMPONENT development)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/kvwConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/kvwConfig.cmake
  INSTALL_DESTINATION ${KVW_INSTALL_CMAKEDIR}
  NO_SET_AND_CHECK_MACRO)
# Same major version, same soname: 0.x counts as one series, like libkvw.so.0.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/kvwConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
    ${PROJECT_BINARY_DIR}/cmake/kvwConfig.cmake
    ${PROJECT_BINARY_DIR}/cmake/kvwConfigVersion.cmake
  DESTINATION ${KVW_INSTALL_CMAKEDIR}
  COMPONENT development)

# pkg-config: kvw.pc must name the prefix it lands in, and
# `cmake --install --prefix` may choose another one than configure did. So
# everything but the prefix is filled in now and the prefix at install time.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(KVW_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(KVW_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(KVW_PC_PREFIX "@KVW_PC_PREFIX@")  # kept for the install-time pass
set(KVW_PC_RPATH "@KVW_PC_RPATH@")
configure_file(${PROJECT_SOURCE_DIR}/pkgconfig/kvw.pc.in
  ${PROJECT_BINARY_DIR}/pkgconfig/kvw.pc.in @ONLY)
# Outside /usr and /usr/local (where ldconfig finds the library) the Libs
# carry an rpath, so that a program linked through pkg-config (cgo too) runs
# without LD_LIBRARY_PATH.
install(CODE "
  set(KVW_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(KVW_PC_RPATH [=[ -Wl,-rpath,\${libdir}]=])
  if(\"\${CMAKE_INSTALL_PREFIX}\" MATCHES \"^/usr(/local)?/*$\")
    set(KVW_PC_RPATH \"\")
  endif()
  configure_file(\"${PROJECT_BINARY_DIR}/pkgconfig/kvw.pc.in\"
                 \"${PROJECT_BINARY_DIR}/pkgconfig/kvw.pc\" @ONLY)"
  COMPONENT development)
install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/kvw.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)
