# First contact through a directory (SPEC §9.5): the newcomer story, a lying
# directory, the directory's boundary — real homes and nodes on 127.0.0.1.
add_test(NAME integ_directory
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_directory.py $<TARGET_FILE:mesh>)
set_tests_properties(integ_directory PROPERTIES TIMEOUT 300 LABELS integration)
