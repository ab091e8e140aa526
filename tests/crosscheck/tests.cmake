# CTest registration of the edge-list import checks. Included from the
# top-level CMakeLists.txt after the `mesh` target is defined.
# The Python is Debian's /usr/bin/python3 (it has python3-networkx).

# mesh trust list vs an independent networkx reference on the real datasets.
add_test(NAME trust_crosscheck
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/trust_crosscheck.py
                 $<TARGET_FILE:mesh> ${MT_SHARED_DIR}/data)
set_tests_properties(trust_crosscheck PROPERTIES TIMEOUT 900 LABELS crosscheck)

# mesh graph import-edgelist / export on small crafted files (formats, bad
# lines, duplicates, timestamps, levels, dot and JSON export).
add_test(NAME edgelist_cli
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/edgelist_cli.py $<TARGET_FILE:mesh>)
set_tests_properties(edgelist_cli PROPERTIES TIMEOUT 120 LABELS "crosscheck;cli")
