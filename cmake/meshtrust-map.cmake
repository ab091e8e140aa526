# cmake -DINCLUDE_DIR=include -DTEMPLATE=src/meshtrust.map.in -DOUT=meshtrust.map -P this
#
# Writes libmeshtrust's linker version script: TEMPLATE with @MT_EXPORTS@
# replaced by every function named mt_* declared in INCLUDE_DIR/meshtrust/*.h
# (comments stripped first, so a name only mentioned in prose is not taken).
# Cross-file internals (mt_<module>__*) are never exported, even if a header
# should name one. The file is written only when it changes (no relink).
file(GLOB headers ${INCLUDE_DIR}/meshtrust/*.h)
list(SORT headers)
set(names)
foreach(h IN LISTS headers)
  file(READ ${h} text)
  # /* … */ comments (CMake regexes have no lazy operator: a class does it).
  string(REGEX REPLACE "/\\*([^*]|\\*+[^*/])*\\*+/" " " text "${text}")
  string(REGEX REPLACE "//[^\n]*" " " text "${text}")
  string(REGEX MATCHALL "mt_[A-Za-z0-9_]+[ \t\r\n]*\\(" decls "${text}")
  foreach(d IN LISTS decls)
    string(REGEX REPLACE "[ \t\r\n]*\\($" "" d "${d}")
    if(NOT d MATCHES "__")
      list(APPEND names ${d})
    endif()
  endforeach()
endforeach()
list(REMOVE_DUPLICATES names)
list(SORT names)
if(NOT names)
  message(FATAL_ERROR "meshtrust-map.cmake: no mt_* declaration in ${INCLUDE_DIR}/meshtrust")
endif()
set(MT_EXPORTS "")
foreach(n IN LISTS names)
  string(APPEND MT_EXPORTS "    ${n};\n")
endforeach()
configure_file(${TEMPLATE} ${OUT} @ONLY)
