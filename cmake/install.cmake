# Installing (GNUInstallDirs), included by the top CMakeLists.txt once `mesh`
# and the mt_<module> archives exist:
#   bin/mesh
#   lib/libmeshtrust.so.<major> (SONAME) built from the modules' objects, linked
#       with a version script that exports only the public mt_* API declared in
#       include/meshtrust/*.h (src/meshtrust.map.in, filled by meshtrust-map.cmake)
#   lib/libmeshtrust.a       the same objects in one archive
#   include/meshtrust/*.h    the public headers
#   lib/pkgconfig/meshtrust.pc
#   share/meshtrust/web      the dashboard (web/), found by an installed `mesh`
#   share/man/man1, man7     the man pages (man/, when scdoc is found)
#   share/bash-completion/completions/mesh, share/zsh/vendor-completions/_mesh,
#   share/fish/vendor_completions.d/mesh.fish   shell completion (contrib/completion)
#   lib/systemd/system/mesh-node.service, lib/systemd/user/mesh-node.service
#       the systemd units (contrib/systemd; ExecStart = the installed bin/mesh)
# Components: runtime (mesh, the .so), dev (headers, .a, .pc, the .so link),
# web, man, completion, systemd.  Check with `ctest -R install_staging` (tests/install/).
include(GNUInstallDirs)

# Both libraries reuse the archives' objects, so those are position independent.
list(TRANSFORM MT_MODULES PREPEND mt_ OUTPUT_VARIABLE mt_module_targets)
set_target_properties(${mt_module_targets} PROPERTIES POSITION_INDEPENDENT_CODE ON)
set(mt_objects)
set(mt_ext)  # the external libraries the modules link (scripts/layers.map)
foreach(name IN LISTS MT_MODULES)
  list(APPEND mt_objects $<TARGET_OBJECTS:mt_${name}>)
  list(APPEND mt_ext ${MT_LIBS_${name}})
endforeach()
list(REMOVE_DUPLICATES mt_ext)

# The version script: every mt_* function declared in a public header,
# nothing else (the mt_<module>__* internals, node__* and the rest stay local).
file(GLOB mt_public_headers CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/include/meshtrust/*.h)
set(mt_map ${CMAKE_BINARY_DIR}/meshtrust.map)
add_custom_command(
  OUTPUT ${mt_map}
  COMMAND ${CMAKE_COMMAND} -DINCLUDE_DIR=${CMAKE_SOURCE_DIR}/include
          -DTEMPLATE=${CMAKE_SOURCE_DIR}/src/meshtrust.map.in -DOUT=${mt_map}
          -P ${CMAKE_SOURCE_DIR}/cmake/meshtrust-map.cmake
  DEPENDS ${mt_public_headers} ${CMAKE_SOURCE_DIR}/src/meshtrust.map.in
          ${CMAKE_SOURCE_DIR}/cmake/meshtrust-map.cmake
  COMMENT "Generating meshtrust.map (the exported API)")

add_library(meshtrust_shared SHARED ${mt_objects} ${mt_map})
set(mt_ext_targets)
foreach(lib IN LISTS mt_ext)
  list(APPEND mt_ext_targets ${MT_LIB_${lib}})
endforeach()
target_link_libraries(meshtrust_shared PRIVATE ${mt_ext_targets} Threads::Threads m)
target_link_options(meshtrust_shared PRIVATE "LINKER:--version-script=${mt_map}")
if(NOT MT_SANITIZE AND NOT MT_FUZZ)  # their runtimes resolve only in the executable
  target_link_options(meshtrust_shared PRIVATE "LINKER:--no-undefined")
endif()
set_target_properties(meshtrust_shared PROPERTIES
  OUTPUT_NAME meshtrust
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  LINK_DEPENDS ${mt_map})

add_library(meshtrust_static STATIC ${mt_objects})
set_target_properties(meshtrust_static PROPERTIES OUTPUT_NAME meshtrust)

# An installed `mesh` finds the dashboard without flags: after --web,
# $MESH_WEB_DIR and web/ beside the executable, this path (cli/cmd_node.c).
target_compile_definitions(mesh PRIVATE
  MT_WEB_INSTALL_DIR="${CMAKE_INSTALL_FULL_DATADIR}/meshtrust/web")

# meshtrust.pc: relocatable (${pcfiledir}), so a staged or moved tree works.
# Requires: jansson, because the public headers include <jansson.h>; the other
# libraries the modules link are private (only a static link needs them).
set(MT_PC_REQUIRES_PRIVATE)
foreach(lib IN LISTS mt_ext)
  set(target "${MT_LIB_${lib}}")
  if(lib STREQUAL "jansson" OR NOT target)  # public (Requires) / nothing to link
    continue()
  endif()
  # PkgConfig::X from pkg_check_modules(X …) knows its module's name.
  string(REGEX REPLACE "^PkgConfig::" "" prefix "${target}")
  if(target MATCHES "^PkgConfig::" AND ${prefix}_MODULE_NAME)
    list(APPEND MT_PC_REQUIRES_PRIVATE ${${prefix}_MODULE_NAME})
  elseif(target STREQUAL "ZLIB::ZLIB")
    list(APPEND MT_PC_REQUIRES_PRIVATE zlib)
  else()
    message(WARNING "meshtrust.pc: no pkg-config module for ${lib} (${target}); "
                    "a static link needs it by hand")
  endif()
endforeach()
list(JOIN MT_PC_REQUIRES_PRIVATE " " MT_PC_REQUIRES_PRIVATE)
file(RELATIVE_PATH mt_pc_up ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" mt_pc_up "${mt_pc_up}")
set(MT_PC_PREFIX "\${pcfiledir}/${mt_pc_up}")
foreach(d LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${d}}")
    set(MT_PC_${d} "${CMAKE_INSTALL_${d}}")
  else()
    set(MT_PC_${d} "\${prefix}/${CMAKE_INSTALL_${d}}")
  endif()
endforeach()
configure_file(${CMAKE_SOURCE_DIR}/cmake/meshtrust.pc.in ${CMAKE_BINARY_DIR}/meshtrust.pc @ONLY)

install(TARGETS mesh RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
install(TARGETS meshtrust_shared
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT runtime NAMELINK_COMPONENT dev)
install(TARGETS meshtrust_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(FILES ${mt_public_headers}
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/meshtrust COMPONENT dev)
install(FILES ${CMAKE_BINARY_DIR}/meshtrust.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig COMPONENT dev)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/web/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/meshtrust/web COMPONENT web)

add_subdirectory(${CMAKE_SOURCE_DIR}/man ${CMAKE_BINARY_DIR}/man)

# Shell completion: the directories bash-completion, zsh (Debian's
# vendor-completions) and fish look in under the prefix.
set(mt_compl ${CMAKE_SOURCE_DIR}/contrib/completion)
install(FILES ${mt_compl}/mesh.bash RENAME mesh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions COMPONENT completion)
install(FILES ${mt_compl}/_mesh
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions COMPONENT completion)
install(FILES ${mt_compl}/mesh.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d COMPONENT completion)

# systemd units: ExecStart names the installed mesh. lib/systemd (not LIBDIR,
# which may be multiarch) under the prefix, as systemd's search path has it.
set(MT_SYSTEMD_SYSTEM_UNITDIR lib/systemd/system CACHE STRING
    "where the system unit mesh-node.service is installed (relative: under the prefix)")
set(MT_SYSTEMD_USER_UNITDIR lib/systemd/user CACHE STRING
    "where the user unit mesh-node.service is installed (relative: under the prefix)")
configure_file(${CMAKE_SOURCE_DIR}/contrib/systemd/mesh-node.service
               ${CMAKE_BINARY_DIR}/systemd/system/mesh-node.service @ONLY)
configure_file(${CMAKE_SOURCE_DIR}/contrib/systemd/user/mesh-node.service
               ${CMAKE_BINARY_DIR}/systemd/user/mesh-node.service @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/systemd/system/mesh-node.service
        DESTINATION ${MT_SYSTEMD_SYSTEM_UNITDIR} COMPONENT systemd)
install(FILES ${CMAKE_BINARY_DIR}/systemd/user/mesh-node.service
        DESTINATION ${MT_SYSTEMD_USER_UNITDIR} COMPONENT systemd)
