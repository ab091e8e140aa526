# Federated search test (three nodes + a fake peer on 127.0.0.1). Include from
# tests/integration/CMakeLists.txt next to node.cmake (inside the same
# `if(MT_BENCH)`).
add_test(NAME integ_federated_search
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_federated_search.py
                 $<TARGET_FILE:mesh> $<TARGET_FILE:bench_ingest>)
set_tests_properties(integ_federated_search PROPERTIES LABELS "integration;node" TIMEOUT 180)
