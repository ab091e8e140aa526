# Node integration tests (real nodes on 127.0.0.1). Include from
# tests/integration/CMakeLists.txt inside its `if(TARGET mesh AND MT_BENCH …)`.
foreach(t sync ratelimit badinput crash views reload recon)
  add_test(NAME integ_node_${t}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_node_${t}.py
                   $<TARGET_FILE:mesh> $<TARGET_FILE:bench_ingest>)
  set_tests_properties(integ_node_${t} PROPERTIES LABELS "integration;node" TIMEOUT 180)
endforeach()
# Key events on real homes and nodes (SPEC §9.2): hand-made statements come from mt-sign.
add_test(NAME integ_key_nodes
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_key_nodes.py
                 $<TARGET_FILE:mesh> $<TARGET_FILE:bench_ingest>)
set_tests_properties(integ_key_nodes PROPERTIES LABELS "integration;node" TIMEOUT 300
                     ENVIRONMENT "MT_SIGN=$<TARGET_FILE:mt_sign>")
